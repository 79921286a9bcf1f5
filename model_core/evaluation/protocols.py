"""``avsol eval --protocol NAME``: evaluate as a published paper did.

A protocol fixes what AVSOL Studio can fix of a paper's evaluation: which frame is scored,
which audio it hears and the threshold rule of its cIoU. It is recorded in the report's
``meta.protocol`` with the parts that cannot be matched without the paper's own data, so
a number is never presented as a reproduction it is not.

What every protocol shares (the field's test code, read in each repository):

- frame: the annotated frame (VGG-SS and Flickr-SoundNet annotate one frame per clip,
  the clip's middle frame; our importers put ``frame_time`` there);
- audio: the model's own window length (``MapModel.audio_window_s``: 3 s for EZ-VSL, FNAC,
  SLAVC and SSL-align, 10 s for LVS and SSL-TIE, 1 s for RCGrad) centred on that frame
  (``audio_hop`` None: a window per frame, not the 1 s cell), shifted inside the file or
  tiled (``place_window``), as the repositories cut their test audio;
- threshold: the paper's rule (:mod:`model_core.metrics.threshold`).

What cannot be matched here (listed in ``unmatched``): the papers score pre-extracted
JPEG frames and re-encoded audio of their own copies of VGG-SS / Flickr (our decode of a
user's copy differs by codec), LVS and SSL-TIE score the centre crop against GT boxes
cropped likewise (we score the whole frame, the crop's outside as "no prediction"), and
their test lists (which clips were still online) differ from any copy made later.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from model_core.metrics.threshold import ADAPTIVE, MEDIAN, SLAVC

FRAME = "the annotated frame (VGG-SS / Flickr: the clip's middle frame)"
AUDIO = "the model's own window length centred on the frame, shifted inside the file or tiled"
COMMON_UNMATCHED = (
    "the paper's own pre-extracted frames and audio of its copy of the test set (decoding a later copy differs)",
    "the paper's test list (clips still online when it was made)",
)


@dataclass(frozen=True)
class Protocol:
    name: str
    paper: str
    family: str                         # the family key whose repository's test code this is
    threshold: str
    audio_hop: float | None = None      # None: a window centred on every scored frame
    frame: str = FRAME
    audio: str = AUDIO
    unmatched: tuple[str, ...] = COMMON_UNMATCHED

    def record(self) -> dict:
        """What the report's ``meta.protocol`` holds."""
        from model_core.models.loading import builtin_families

        d = asdict(self)
        d["unmatched"] = list(self.unmatched)
        d["repository"] = next((f.repository for f in builtin_families() if f.key == self.family), "")
        return d


_CROP = "scoring on the 224 centre crop with GT boxes cropped likewise (we score the whole frame)"
PROTOCOLS = {p.name: p for p in (
    Protocol("ezvsl", "EZ-VSL (Mo & Morgado, ECCV 2022)", "ezvsl", MEDIAN),
    Protocol("fnac", "FNAC (Sun et al., CVPR 2023)", "fnac", MEDIAN),
    Protocol("slavc", "SLAVC (Mo & Morgado, NeurIPS 2022)", "slavc", SLAVC),
    Protocol("lvs", "LVS (Chen et al., CVPR 2021)", "lvs", MEDIAN, unmatched=(*COMMON_UNMATCHED, _CROP)),
    Protocol("ssl-align", "SSL-align (Senocak et al., ICCV 2023)", "sslalign", ADAPTIVE,
             unmatched=(*COMMON_UNMATCHED, "the paper also reports cIoU at the median (--threshold median)")),
    Protocol("ssl-tie", "SSL-TIE (Liu et al., ACM MM 2022)", "ssltie", MEDIAN, unmatched=(*COMMON_UNMATCHED, _CROP)),
    Protocol("rcgrad", "RCGrad (see its repository)", "rcgrad", MEDIAN),
)}


def protocol(name: str) -> Protocol:
    """The protocol ``name``; ``ValueError`` naming the known ones."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r} (known: {', '.join(PROTOCOLS)})") from None
