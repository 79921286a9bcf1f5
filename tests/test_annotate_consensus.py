"""The consensus of several annotators on a segment, against boxes
computed by hand."""
from __future__ import annotations

import pytest

from model_core.annotate.agreement import CONSENSUS, consensus
from model_core.annotate.document import EditBox, EditSegment


def _seg(*boxes, no_sounding=()):
    return EditSegment(0.0, 1.0, 0.5, boxes=list(boxes), no_sounding=list(no_sounding))


# Three annotators A, B, C:
#  dog: A [0,0,.4,.4], B [.1,0,.5,.4] (IoU with A: .12/.20 = .6 -> same object; group mean
#       [.05,0,.45,.4]), C [.05,.05,.45,.45] (IoU with that mean: .14/.18 = .78 -> joins).
#       3 of 3 voters -> kept: mean [.05, .05/3, .45, 1.25/3]; labels dog, dog, puppy -> dog;
#       all sounding -> sounding.
#  cat: A silent [.6,.6,1,1], B silent [.6,.6,1,1] -> 2 of 3 kept, silent, label cat.
#  bird: only C [0,.7,.2,.9] -> 1 of 3, dropped.
#  D is asked for but never annotated the segment: not a voter (the majority stays 2 of 3).
A_DOG = EditBox(0, 0, .4, .4, "dog", True, "A")
B_DOG = EditBox(.1, 0, .5, .4, "dog", True, "B")
C_DOG = EditBox(.05, .05, .45, .45, "puppy", True, "C")
A_CAT = EditBox(.6, .6, 1, 1, "cat", False, "A")
B_CAT = EditBox(.6, .6, 1, 1, "cat", False, "B")
C_BIRD = EditBox(0, .7, .2, .9, "bird", True, "C")


def test_majority_boxes_averaged():
    seg = _seg(A_DOG, A_CAT, B_CAT, B_DOG, C_BIRD, C_DOG)
    got = consensus(seg, ["A", "B", "C", "D"])
    assert len(got) == 2
    dog, cat = sorted(got, key=lambda b: b.x1)
    assert dog.coords == pytest.approx((0.05, 0.05 / 3, 0.45, 1.25 / 3))
    assert (dog.label, dog.sounding, dog.annotator) == ("dog", True, CONSENSUS)
    assert cat.coords == pytest.approx((0.6, 0.6, 1.0, 1.0))
    assert (cat.label, cat.sounding) == ("cat", False)
    assert len(seg.boxes) == 6 and seg.boxes[0] is A_DOG          # the segment is not changed
    assert len(consensus(seg)) == 2                                 # default: everyone on it


def test_two_annotators_need_both_and_a_no_object_mark_votes():
    # A and B both drew the dog, only A the cat -> the dog only
    assert [b.label for b in consensus(_seg(A_DOG, A_CAT, B_DOG))] == ["dog"]
    # B marked "no sounding object" and drew nothing: B votes, so A's boxes are 1 of 2 -> none
    assert consensus(_seg(A_DOG, A_CAT, no_sounding=["B"])) == []
    # only A annotated: A alone is the majority of the voters
    assert [b.label for b in consensus(_seg(A_DOG), ["A", "B"])] == ["dog"]
    # far-apart boxes of two annotators are two objects, each 1 of 2 -> none
    assert consensus(_seg(A_DOG, EditBox(.6, .6, 1, 1, "dog", True, "B"))) == []


def test_sounding_tie_keeps_sounding_and_label_tie_takes_the_first():
    seg = _seg(EditBox(0, 0, .5, .5, "dog", True, "A"), EditBox(0, 0, .5, .5, "cat", False, "B"))
    (box,) = consensus(seg)
    assert box.sounding is True and box.label == "dog"
