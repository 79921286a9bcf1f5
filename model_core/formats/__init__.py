"""Annotation formats (SPEC 4): AVSOL-E v1, the AVE folder, and importers for VGG-SS and
Flickr-SoundNet. Pure Python + the standard library, so importing it is cheap.
"""
from model_core.formats._common import ImportReport
from model_core.formats.annotations import AvsolE, Box, Segment, VideoAnnotation
from model_core.formats.ave import AveDataset, AveRow, load_ave
from model_core.formats.avsol_e import avsol_e_from_dict, avsol_e_to_dict, load_avsol_e, save_avsol_e
from model_core.formats.flickr import import_flickr
from model_core.formats.vggss import import_vggss

__all__ = [
    "AveDataset", "AveRow", "AvsolE", "Box", "ImportReport", "Segment", "VideoAnnotation",
    "avsol_e_from_dict", "avsol_e_to_dict", "import_flickr", "import_vggss", "load_ave",
    "load_avsol_e", "save_avsol_e",
]
