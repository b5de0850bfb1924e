"""The embedded broker: kombu's file transport, made safe for several processes.

kombu's own file transport (5.7, the newest release) creates a message's file in the queue folder and
writes into it afterwards, while a consumer moves and reads any file it finds: it can read a file that
is still empty, fail to decode it, and the message is gone. It also deletes a message as soon as it is
read, so a consumer killed before acking loses it. This transport keeps kombu's folder layout and file
names (`<time>_<uuid>.<queue>.msg` in one folder) and changes three things:

- publishing writes the file under `.staging/` (same folder, so same file system), then renames it
  into place: a message is visible only once complete;
- a consumer takes a message by renaming it into its own `.unacked/<owner>/` folder, on which it holds
  an exclusive flock for as long as its connection is open; ack deletes the file, reject-with-requeue
  and a clean close rename it back (under its old name, so it keeps its place). A folder whose lock can
  be taken belongs to a dead process: any consumer moves its files back to the queue (at start and
  every `RECOVER_INTERVAL` seconds). So a message is on disk until acked: at least once;
- a file that cannot be decoded is moved to `.unreadable/` with a log line naming it, and the consumer
  goes on.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)

ALIAS = "clinicfs"
STAGING, UNACKED, UNREADABLE = ".staging", ".unacked", ".unreadable"
LOCK_NAME = "owner.lock"
RECOVER_INTERVAL = 5.0  # seconds between scans for a dead consumer's unacked messages
STALE_STAGING_SECONDS = 600  # a staging file this old was left by a publisher that died mid-write


def register() -> str:
    """Make `clinicfs://` name this transport (idempotent); returns the alias."""
    TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"
    return ALIAS


def message_filename(queue: str) -> str:
    # Wall-clock microseconds, zero-padded: names sort in publish order across processes and reboots.
    return f"{time.time_ns() // 1000:020d}_{uuid.uuid4()}.{queue}.msg"


def queue_of(filename: str) -> str | None:
    stem, sep, rest = filename.partition(".")
    return rest[:-len(".msg")] if sep and rest.endswith(".msg") and not stem.startswith(".") else None


class UnackedFolder:
    """A folder of messages taken but not yet acked by this connection, flock'd for its whole life."""

    def __init__(self, queue_folder: str):
        self.queue_folder = queue_folder
        owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        staging = os.path.join(queue_folder, STAGING, owner)
        os.makedirs(staging)
        self._lock = open(os.path.join(staging, LOCK_NAME), "wb")
        fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX)
        # Locked before it is visible: a recoverer never sees this folder unlocked while we live.
        self.path = os.path.join(queue_folder, UNACKED, owner)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        os.rename(staging, self.path)

    def close(self) -> None:
        """Give back whatever is still here (nothing is dropped on a clean close), then let go."""
        if self._lock.closed:
            return
        give_back(self.path, self.queue_folder)
        self._lock.close()


def give_back(folder: str, queue_folder: str) -> int:
    """Rename every message in `folder` back into the queue folder under its own name; remove the folder."""
    moved = 0
    for name in sorted(os.listdir(folder)):
        if name.endswith(".msg"):
            try:
                os.rename(os.path.join(folder, name), os.path.join(queue_folder, name))
                moved += 1
            except FileNotFoundError:
                pass
    for leftover in (LOCK_NAME,):
        try:
            os.unlink(os.path.join(folder, leftover))
        except FileNotFoundError:
            pass
    try:
        os.rmdir(folder)
    except OSError:
        pass
    return moved


def recover_dead_consumers(queue_folder: str) -> int:
    """Return to the queue the unacked messages of every consumer whose lock is free (it died)."""
    root = os.path.join(queue_folder, UNACKED)
    moved = 0
    try:
        owners = os.listdir(root)
    except FileNotFoundError:
        return 0
    for owner in owners:
        folder = os.path.join(root, owner)
        try:
            lock = open(os.path.join(folder, LOCK_NAME), "rb")
        except (FileNotFoundError, NotADirectoryError):
            continue  # being removed by its owner or another recoverer
        with lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # alive
            count = give_back(folder, queue_folder)
        if count:
            log.warning("returned %d unacked message(s) of a stopped consumer (%s) to the queue", count, owner)
        moved += count
    _remove_stale_staging(queue_folder)
    return moved


def _remove_stale_staging(queue_folder: str) -> None:
    root = os.path.join(queue_folder, STAGING)
    cutoff = time.time() - STALE_STAGING_SECONDS
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return
    for name in names:
        path = os.path.join(root, name)
        try:
            if os.path.getmtime(path) >= cutoff:
                continue
            if os.path.isdir(path):
                give_back(path, queue_folder)  # an unacked folder whose owner died before showing it: empty
            else:
                os.unlink(path)  # never renamed into place: its publisher got an error and will retry
        except OSError:
            pass


def _fsync_folder(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Channel(filesystem.Channel):
    """kombu's file channel with atomic publishing, ack-before-delete and unreadable files kept aside."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._transport = self.connection  # kept: kombu clears `connection` before a late restore
        self.data_folder_in, self.data_folder_out  # read now, for the same reason
        self._pending: dict[str, list[str]] = {}  # queue -> names from the last listing, oldest first

    @property
    def _fsync(self) -> bool:
        return bool(self.transport_options.get("fsync", True))

    def _put(self, queue, payload, **kwargs):
        name = message_filename(queue)
        staging = os.path.join(self.data_folder_out, STAGING)
        os.makedirs(staging, exist_ok=True)
        temporary = os.path.join(staging, name)
        try:
            with open(temporary, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
                if self._fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.rename(temporary, os.path.join(self.data_folder_out, name))
            if self._fsync:  # the new name too: published means on disk, even if the machine stops
                _fsync_folder(self.data_folder_out)
        except OSError as exc:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise ChannelError(f"Cannot add message {name!r} to {self.data_folder_out!r}") from exc

    def _get(self, queue):
        folder = self.data_folder_in
        transport = self._transport
        transport.recover_now_and_then(folder)
        unacked = transport.unacked_folder(folder)
        for relisted in (False, True):
            pending = self._pending.get(queue)
            if relisted or not pending:
                wanted = f"{queue}.msg"
                pending = self._pending[queue] = sorted(
                    n for n in os.listdir(folder) if n.partition(".")[2] == wanted)
            while pending:
                name = pending.pop(0)
                taken = os.path.join(unacked.path, name)
                try:
                    os.rename(os.path.join(folder, name), taken)
                except FileNotFoundError:
                    continue  # another consumer took it
                try:
                    with open(taken, "rb") as f:
                        payload = loads(bytes_to_str(f.read()))
                    payload["properties"]["delivery_tag"] = name
                except Exception as exc:
                    self._set_aside(taken, exc)
                    continue
                return payload
            if relisted:
                break
        raise Empty()

    def _set_aside(self, path: str, exc: Exception) -> None:
        aside = os.path.join(self.data_folder_in, UNREADABLE)
        os.makedirs(aside, exist_ok=True)
        target = os.path.join(aside, os.path.basename(path))
        try:
            os.rename(path, target)
        except OSError as rename_error:  # left among our unacked ones: given back, and set aside, later
            log.error("unreadable message file %s (%s: %s) could not be moved aside: %s",
                      path, type(exc).__name__, exc, rename_error)
            return
        log.error("unreadable message file moved aside to %s (%s: %s); consuming goes on",
                  target, type(exc).__name__, exc)

    def _taken_path(self, delivery_tag: str) -> str | None:
        folder = self._transport.existing_unacked_folder()
        return os.path.join(folder.path, delivery_tag) if folder and queue_of(delivery_tag) else None

    def basic_ack(self, delivery_tag, multiple=False):
        super().basic_ack(delivery_tag, multiple)
        path = self._taken_path(delivery_tag)
        if path:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def basic_reject(self, delivery_tag, requeue=False):
        super().basic_reject(delivery_tag, requeue)  # requeue calls _restore_at_beginning
        if not requeue:
            self.basic_ack(delivery_tag)  # dropped on purpose, as AMQP does

    def basic_get(self, queue, no_ack=False, **kwargs):
        message = super().basic_get(queue, no_ack=no_ack, **kwargs)
        if message is not None and no_ack:
            self.basic_ack(message.delivery_tag)
        return message

    def basic_consume(self, queue, no_ack, callback, consumer_tag, **kwargs):
        if no_ack:
            def acked_on_delivery(message):
                self.basic_ack(message.delivery_tag)
                return callback(message)
            return super().basic_consume(queue, no_ack, acked_on_delivery, consumer_tag, **kwargs)
        return super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)

    def _restore(self, message):
        """Requeue (reject or clean close): the taken file goes back under its own name."""
        if not queue_of(message.delivery_tag):
            return super()._restore(message)  # not taken from a file by us: publish it again
        path = self._taken_path(message.delivery_tag)
        if path is None:
            return  # our unacked folder is closed: it gave everything back already
        try:
            os.rename(path, os.path.join(self.data_folder_in, message.delivery_tag))
        except FileNotFoundError:
            pass  # acked meanwhile


class Transport(filesystem.Transport):
    Channel = Channel
    driver_type = "clinicfs"
    driver_name = "clinicfs"

    # kombu keeps one declared-bindings state per process, whatever the folder: a second folder in the same
    # process (tests) would skip writing its bindings. One state per control folder instead.
    _states: dict[str, virtual.BrokerState] = {}

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        control = os.path.abspath(client.transport_options.get("control_folder", "control"))
        self.state = self._states.setdefault(control, virtual.BrokerState())
        self._unacked: UnackedFolder | None = None
        self._next_recovery = 0.0

    def unacked_folder(self, queue_folder: str) -> UnackedFolder:
        if self._unacked is None:
            self._unacked = UnackedFolder(queue_folder)
        return self._unacked

    def existing_unacked_folder(self) -> UnackedFolder | None:
        return self._unacked

    def recover_now_and_then(self, queue_folder: str) -> None:
        now = time.monotonic()
        if now >= self._next_recovery:
            self._next_recovery = now + RECOVER_INTERVAL
            recover_dead_consumers(queue_folder)

    def close_connection(self, connection):
        try:
            super().close_connection(connection)  # closes channels: their unacked messages go back
        finally:
            if self._unacked is not None:
                self._unacked.close()
                self._unacked = None
