"""Failure taxonomy (SPEC 5): one label per scored item, so a report says *how* a model
fails, not only how often.

Rules, applied in this order:

- background segment (no audio-visual event): ``false_alarm`` if p_avc > 0.5, else ``ok``;
  no label if p_avc is unknown (a maps file without ``p_avc``);
- event segment whose GT covers no pixel (no boxes, e.g. AVE): no label (nothing to
  localise against);
- ``ok``: cIoU >= 0.5;
- ``diffuse``: the map's peak is inside a sounding box but cIoU < 0.5;
- ``wrong_object``: the peak is inside a silent box (and in no sounding box);
- ``miss``: the peak is outside every box, or the map has no peak (constant).
"""
from __future__ import annotations

from model_core.metrics.localization import SUCCESS_CIOU

OK = "ok"
WRONG_OBJECT = "wrong_object"
MISS = "miss"
DIFFUSE = "diffuse"
FALSE_ALARM = "false_alarm"
#: Every label, in the order reports list them.
LABELS = (OK, WRONG_OBJECT, MISS, DIFFUSE, FALSE_ALARM)
#: p_avc above which a background segment is a false alarm.
FALSE_ALARM_P = 0.5


def failure_label(event: bool, ciou: float | None, peak_in_sounding: bool | None,
                  peak_in_silent: bool | None, p_avc: float | None) -> str | None:
    """The taxonomy label of one item (see the module docstring), or None if it has none.

    Parameters
    ----------
    event : False for a background segment.
    ciou : the item's cIoU; None or NaN when the GT covers nothing.
    peak_in_sounding, peak_in_silent : where the map's peak falls (False: no peak).
    p_avc : the head's correspondence score, if known.
    """
    if not event:
        if p_avc is None or p_avc != p_avc:
            return None
        return FALSE_ALARM if p_avc > FALSE_ALARM_P else OK
    if ciou is None or ciou != ciou:
        return None
    if ciou >= SUCCESS_CIOU:
        return OK
    if peak_in_sounding:
        return DIFFUSE
    if peak_in_silent:
        return WRONG_OBJECT
    return MISS
