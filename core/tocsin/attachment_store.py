"""The content-addressed folder that keeps attachments from the moment an event is accepted until delivery.

Where: ``[notifications] attachment_dir``, else ``$TOCSIN_ATTACHMENT_DIR``, else
``$XDG_STATE_HOME/tocsin/attachments`` (``~/.local/state/tocsin/attachments``). Each file is stored once as
``<dir>/<sha256[:2]>/<sha256>`` (mode 0600, folders 0700: logs may be private), whatever its name, so the
same log attached to ten events is stored once, and a Message only names it.

Staging (:meth:`AttachmentStore.stage`) reads a path once, hashing while it copies, so a file that grows or
is rotated afterwards does not change what is sent. A path that cannot be read (missing, a folder, no
permission) and a file over the notifier's ``max_attachment_bytes`` are not copied: the event keeps a
reference marked ``omitted`` that names the path and the reason, and the alert goes without it.

Cleanup, two ways: (1) :meth:`AttachmentStore.hold` / :meth:`AttachmentStore.release` — each delivery
(one event to one target) holds its files, and releases them at its final outcome (delivered or dead); a
file is deleted when nothing in this process still holds it and no other process staged the same content
since (its modification time is the one this process set). A delivery that another process finishes (a
durable outbox taken over after a crash) is not held there, so its files wait for the purge;
(2) :meth:`AttachmentStore.purge` — files older than ``attachment_retention`` seconds (default 7 days) are
deleted the first time a process stages an attachment, so copies left by a crash, or by outbox rows that
went dead and may still be retried within that window, go in the end. A stored copy that is gone at delivery
time is left out with a receipt warning, never a failed alert.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from .attachments import Attachment, AttachmentRef
from .presentation import format_size

__all__ = ["DEFAULT_RETENTION", "AttachmentStore", "default_attachment_dir"]

log = logging.getLogger("tocsin.attachments")

#: Seconds a stored attachment is kept at most (7 days): longer than any retry schedule of the outbox.
DEFAULT_RETENTION = 7 * 24 * 3600.0
#: The env var that moves the store when the config names no ``attachment_dir``.
ATTACHMENT_DIR_ENV = "TOCSIN_ATTACHMENT_DIR"
_CHUNK = 1 << 20


def default_attachment_dir() -> Path:
    """``$TOCSIN_ATTACHMENT_DIR``, else ``$XDG_STATE_HOME/tocsin/attachments``, else ``~/.local/state/…``."""
    if os.environ.get(ATTACHMENT_DIR_ENV):
        return Path(os.environ[ATTACHMENT_DIR_ENV])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "tocsin" / "attachments"


class AttachmentStore:
    """Stores attachments by content hash; see the module docstring for where and for how long."""

    def __init__(
        self, root: Path | None = None, *, retention: float = DEFAULT_RETENTION, limit: int | None = None
    ) -> None:
        self._root = Path(root) if root is not None else None
        self.retention = retention
        self.limit = limit
        self._held: Counter[str] = Counter()
        self._mtimes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._purged = False

    @property
    def root(self) -> Path:
        """The folder (resolved on first use)."""
        if self._root is None:
            self._root = default_attachment_dir()
        return self._root

    def blob_path(self, sha256: str) -> Path:
        """Where the content with this hash is stored."""
        return self.root / sha256[:2] / sha256

    # -- staging ---------------------------------------------------------------------------------
    def stage(self, event: Any) -> Any:
        """``event`` with each :class:`Attachment` replaced by the reference to its stored copy."""
        pending = [a for a in event.attachments if isinstance(a, Attachment)]
        if not pending:
            return event
        self._purge_once()
        refs = [self.put(a) if isinstance(a, Attachment) else a for a in event.attachments]
        return attrs.evolve(event, attachments=tuple(refs))

    def put(self, attachment: Attachment) -> AttachmentRef:
        """Copy one attachment into the store (or find it there) and return its reference."""
        ref = AttachmentRef(name=attachment.name, content_type=attachment.content_type)
        try:
            if attachment.data is not None:
                size = len(attachment.data)
                if self.limit is not None and size > self.limit:
                    return attrs.evolve(ref, size=size, omitted=self._over_limit(size))
                sha256, path = self._write([attachment.data])
            else:
                assert attachment.path is not None
                source = attachment.path
                if source.is_dir():
                    return attrs.evolve(ref, omitted=f"{source} is a folder, not a file")
                size = source.stat().st_size
                if self.limit is not None and size > self.limit:
                    return attrs.evolve(ref, size=size, omitted=self._over_limit(size))
                with source.open("rb") as handle:
                    sha256, path = self._write(iter(lambda: handle.read(_CHUNK), b""))
        except FileNotFoundError:
            return attrs.evolve(ref, omitted=f"file not found: {attachment.path}")
        except PermissionError:
            return attrs.evolve(ref, omitted=f"permission denied reading {attachment.path}")
        except OSError as exc:
            where = attachment.path or "the attachment store"
            log.warning("attachment %r: cannot store it (%s: %s)", attachment.name, where, exc.strerror)
            return attrs.evolve(ref, omitted=f"could not be stored ({exc.strerror or type(exc).__name__})")
        size = path.stat().st_size
        return attrs.evolve(ref, size=size, sha256=sha256, path=str(path))

    def _over_limit(self, size: int) -> str:
        assert self.limit is not None
        return f"{format_size(size)} is over the notifier's {format_size(self.limit)} max_attachment_bytes"

    def _write(self, chunks: Iterable[bytes]) -> tuple[str, Path]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".staging-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
            sha256 = digest.hexdigest()
            final = self.blob_path(sha256)
            final.parent.mkdir(exist_ok=True, mode=0o700)
            try:
                os.utime(final)  # already stored: keep it fresh for the retention window
                os.unlink(tmp)
            except FileNotFoundError:
                os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with self._lock:
            self._held[sha256] += 1
            self._mtimes[sha256] = final.stat().st_mtime_ns
        return sha256, final

    # -- cleanup ---------------------------------------------------------------------------------
    def hold(self, refs: Iterable[Any]) -> None:
        """One more holder (a delivery) of these stored copies: :meth:`release` it at its final outcome."""
        with self._lock:
            for ref in refs:
                if isinstance(ref, AttachmentRef) and ref.sha256 in self._mtimes:
                    self._held[ref.sha256] += 1

    def release(self, refs: Iterable[Any]) -> None:
        """This process is done with these references: delete the copies nobody else holds (see the module doc)."""
        for ref in refs:
            if not isinstance(ref, AttachmentRef) or ref.sha256 is None:
                continue
            with self._lock:
                if self._held[ref.sha256] <= 0:
                    continue
                self._held[ref.sha256] -= 1
                if self._held[ref.sha256]:
                    continue
                del self._held[ref.sha256]
                ours = self._mtimes.pop(ref.sha256, None)
            path = self.blob_path(ref.sha256)
            with contextlib.suppress(OSError):
                if path.stat().st_mtime_ns == ours:
                    path.unlink()

    def purge(self, older_than: float | None = None) -> int:
        """Delete stored copies (and staging leftovers) older than ``older_than`` seconds (the retention)."""
        cutoff = time.time() - (self.retention if older_than is None else older_than)
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.glob("*/*"):
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_mtime < cutoff and path.name not in self._held:
                    path.unlink()
                    removed += 1
        for path in self.root.glob(".staging-*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
        return removed

    def _purge_once(self) -> None:
        if self._purged:
            return
        self._purged = True
        try:
            removed = self.purge()
        except OSError as exc:  # never stop an alert for housekeeping
            log.warning("attachment store %s: purge failed: %s", self.root, exc)
            return
        if removed:
            log.info("attachment store %s: purged %d file(s) older than %gs", self.root, removed, self.retention)
