"""Where a delivery may write on a local feeds root: inside the client's own folder, through no symbolic link.

A link anywhere under `<feeds root>/<client_id>/` (the client folder itself, a sub-folder, a `date=` or `v<N>`
folder, a file) could send one client's data into another client's folder or out of the feeds root, so a
delivery refuses every path that has a link at or below the client's folder, and every path whose resolved form
leaves that folder. The feeds root itself may be a link (an operator's choice); it is resolved once. S3 has no
links: object keys are checked by `Client.folder`.
"""

from __future__ import annotations

import os
import stat

from resources.errors import DeliveryError


class UnsafeDeliveryPath(DeliveryError):
    """A delivery path goes through a symbolic link or resolves outside the client's own folder."""


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_local_path(root: str, client_id: str, path: str) -> str:
    """`path` (a file to write under `root/client_id`) resolved, or UnsafeDeliveryPath when it is not safe."""
    own = os.path.join(os.path.normpath(root), client_id)
    normal = os.path.normpath(path)
    if not _inside(normal, own):
        raise UnsafeDeliveryPath(f"client {client_id}: {path} is outside its folder {own}")
    current = own
    parts = [] if normal == own else os.path.relpath(normal, own).split(os.sep)
    for part in ["", *parts]:
        current = os.path.join(current, part) if part else current
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            break  # nothing exists from here down: the delivery creates plain folders and files
        if stat.S_ISLNK(mode):
            target = os.readlink(current)
            raise UnsafeDeliveryPath(
                f"client {client_id}: {os.path.relpath(current, os.path.normpath(root))} is a symbolic link "
                f"(to {target}); deliveries never follow links"
            )
    real_own = os.path.join(os.path.realpath(root), client_id)
    if not _inside(os.path.realpath(normal), real_own):
        raise UnsafeDeliveryPath(f"client {client_id}: {path} resolves outside its folder {real_own}")
    return normal
