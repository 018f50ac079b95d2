"""The lake: storage addressing, Delta writes, bronze, quarantine and the catalog."""

from resources.lake.storage import LakeStorage, Zone

__all__ = ["LakeStorage", "Zone"]
