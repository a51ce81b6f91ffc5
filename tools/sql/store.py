"""``SqlStore``: the :class:`copilot.core.ports.Store` on SQLite or PostgreSQL through SQLAlchemy Core.

Every public method is one database transaction; every write also appends a row to the audit log
in that same transaction, so an audit row exists exactly when its change does.

:meth:`SqlStore.unit_of_work` joins several writes into one transaction (a fact and the draft re-planned
for it, an idempotent reply with the change it answers): inside the block every write, and every read
after the first write, runs on one connection, committed when the block ends and rolled back whole when it
raises, so a crash leaves the store before or after the block, never between.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType

from sqlalchemy import Connection, RootTransaction, delete, exc, func, insert, select, update

from copilot.core.domain import HistoryRow, Order, Plan, PlanStatus, Vehicle, World
from copilot.core.errors import ConfigurationError, CopilotError, ImportFailed, InputError
from copilot.core.faults import crash_point
from copilot.core.ports import AuditEntry, StoredPlan, UndoneFact
from tools.sql import engine as eng
from tools.sql import facts, rows
from tools.sql import queries as q
from tools.sql.aggregates import DataQueries
from tools.sql.history import HistoryQueries
from tools.sql.schema import audit_log, history, orders, plans, vehicles, worlds


class _Unit:
    """The open transaction of a :meth:`SqlStore.unit_of_work` (opened by its first write)."""

    __slots__ = ("conn", "tx")

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.tx: RootTransaction | None = None


class SqlStore:
    """Worlds, plans and an audit trail in a SQL database (SQLite file or PostgreSQL).

    ``actor`` names who writes (recorded in the audit trail; each write may override it) and
    ``now`` returns the current epoch second (a test may fix it).
    """

    def __init__(self, url: str, *, actor: str = "copilot", now: Callable[[], int] | None = None) -> None:
        self._engine = eng.make_engine(url)
        self._actor = actor
        self._now = now or (lambda: int(time.time()))
        self._history: HistoryQueries | None = None
        self._unit: ContextVar[_Unit | None] = ContextVar(f"unit_of_work_{id(self)}", default=None)

    # -- lifetime ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"SqlStore({self.url!r})"

    def close(self) -> None:
        """Close every pooled connection (the store can still be used afterwards)."""
        self._engine.dispose()
        if self._history is not None:
            self._history.close()

    def history_reader(self) -> HistoryQueries:
        """The read-only, row-limited, timed-out history queries on this database (one per store)."""
        if self._history is None:
            self._history = HistoryQueries(self._engine.url)
        return self._history

    def data_reader(self) -> DataQueries:
        """The read-only aggregate queries of ``tools/query.py``, on the history queries' read-only connections."""
        return DataQueries(self.history_reader())

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def upgrade(self, revision: str = "head") -> None:
        """Create or migrate the schema with the Alembic migrations shipped in ``tools/sql/migrations``."""
        self._connect(write=False).close()
        eng.upgrade(self._engine, revision)

    def schema_revision(self) -> str | None:
        """The migration revision of the database (None before :meth:`upgrade`)."""
        with self._connect(write=False) as conn:
            return eng.current_revision(conn)

    def schema_drift(self) -> list[str]:
        """Differences between the database and the schema this version expects (empty when in step)."""
        with self._connect(write=False) as conn:
            return eng.schema_drift(conn)

    # -- transactions ------------------------------------------------------------------------

    def _connect(self, *, write: bool) -> Connection:
        try:
            conn = self._engine.connect()
        except (exc.OperationalError, exc.InterfaceError) as e:
            raise ConfigurationError(f"cannot open the database {self.url}: {e.orig}") from e
        if write:
            conn.execution_options(**{eng.WRITE_OPTION: True})
        return conn

    @contextmanager
    def unit_of_work(self, *, lock: bool = False) -> Iterator[None]:
        """One transaction for every write in the block (see the module docstring); nested blocks join the outer one.

        ``lock`` opens the write transaction at once, so that the block's reads too see a state no other
        writer can change before the block commits (e.g. re-checking a draft while approving it).
        """
        if self._unit.get() is not None:
            yield
            return
        unit = _Unit()
        token = self._unit.set(unit)
        try:
            if lock:
                self._open(unit)
            yield
            if unit.tx is not None:
                crash_point("before_commit")
                unit.tx.commit()
                crash_point("after_commit")
        except BaseException:
            if unit.tx is not None and unit.tx.is_active:
                unit.tx.rollback()
            raise
        finally:
            self._unit.reset(token)
            if unit.conn is not None:
                unit.conn.close()

    def _open(self, unit: _Unit) -> Connection:
        if unit.conn is None:
            unit.conn = self._connect(write=True)
            unit.tx = unit.conn.begin()
        return unit.conn

    @contextmanager
    def _tx(self, *, write: bool = False, what: str = "the change", rejected: Callable[[str], CopilotError] = InputError) -> Iterator[Connection]:
        unit = self._unit.get()
        if unit is not None and (write or unit.conn is not None):
            try:
                yield self._open(unit)
            except exc.IntegrityError as e:
                raise rejected(f"{what} was rejected by the database, nothing was changed: {e.orig}") from e
            return
        conn = self._connect(write=write)
        try:
            with conn.begin():
                yield conn
                if write:
                    crash_point("before_commit")
            if write:
                crash_point("after_commit")
        except exc.IntegrityError as e:
            raise rejected(f"{what} was rejected by the database, nothing was changed: {e.orig}") from e
        except (exc.OperationalError, exc.ProgrammingError) as e:
            self._raise_if_not_migrated(e)
            raise
        finally:
            conn.close()

    def _raise_if_not_migrated(self, error: Exception) -> None:
        head = eng.head_revision()
        try:
            current = self.schema_revision()
        except Exception:  # the original error is the better report
            return
        if current != head:
            found = f"the database {self.url} is at schema revision {current or 'none'}"
            raise ConfigurationError(f"{found} but this version needs {head}; run SqlStore.upgrade() first") from error

    def _audit(
        self,
        conn: Connection,
        world: str,
        action: str,
        detail: str,
        actor: str | None,
        *,
        subject: str | None = None,
        before: dict[str, object] | None = None,
        after: dict[str, object] | None = None,
    ) -> int:
        values = {"world": world, "at": self._now(), "action": action, "detail": detail, "actor": actor or self._actor}
        if subject is not None:
            values["subject"] = subject
        if before is not None:  # only a fact that can be undone keeps what it changed
            values.update(before=before, after=after or {})
        result = conn.execute(insert(audit_log).values(**values))
        key = result.inserted_primary_key
        return int(key[0]) if key is not None else 0

    # -- worlds ------------------------------------------------------------------------------

    def import_world(self, world: World, *, replace: bool = False, actor: str | None = None) -> None:
        """Store a whole world atomically; ``replace`` swaps out a stored world of that name (and its plans)."""
        try:
            meta = json.loads(json.dumps(dict(world.meta)))
        except (TypeError, ValueError) as e:
            raise ImportFailed([f"world {world.name!r}: meta must be JSON data ({e})"]) from e
        with self._tx(write=True, what=f"importing world {world.name!r}", rejected=lambda m: ImportFailed([m])) as conn:
            old = conn.scalar(select(worlds.c.id).where(worlds.c.name == world.name).with_for_update())
            if old is not None:
                if not replace:
                    raise InputError(f"a world named {world.name!r} is already stored; import it with replace=True to replace it and its plans")
                conn.execute(delete(worlds).where(worlds.c.id == old))
            q.insert_world(conn, world, meta, self._now())
            counts = f"{len(world.depots)} depots, {len(world.vehicles)} vehicles, {len(world.orders)} orders, {len(world.history)} history rows"
            self._audit(conn, world.name, "import_world" if old is None else "replace_world", counts, actor)

    def load_world(self, name: str) -> World:
        """The current state of a stored world (raises NotFound for an unknown name)."""
        with self._tx() as conn:
            return q.load_world(conn, name)

    def world_names(self) -> list[str]:
        """Names of stored worlds, sorted."""
        with self._tx() as conn:
            return q.world_names(conn)

    def most_recent_world(self) -> str | None:
        """The name of the world imported or changed last (None when no world is stored)."""
        with self._tx() as conn:
            query = select(worlds.c.name).order_by(worlds.c.updated_at.desc(), worlds.c.id.desc()).limit(1)
            return conn.scalar(query)

    def set_clock(self, world: str, epoch: int | None, *, actor: str | None = None) -> None:
        """Set the world's current time (epoch seconds), or clear it with None."""
        if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)):
            raise InputError(f"the clock must be whole epoch seconds or None, got {epoch!r}")
        with self._tx(write=True, what="setting the clock") as conn:
            q.touch(conn, q.world_id(conn, world, lock=True), self._now(), clock=epoch)
            self._audit(conn, world, "set_clock", "clock cleared" if epoch is None else f"clock set to {epoch}", actor)

    def clock(self, world: str) -> int | None:
        """The world's current time (epoch seconds), or None when it was never set."""
        with self._tx() as conn:
            value = conn.scalar(select(worlds.c.clock).where(worlds.c.id == q.world_id(conn, world)))
            return None if value is None else int(value)

    def update_vehicle(self, world: str, vehicle: Vehicle, *, actor: str | None = None, base: Vehicle | None = None) -> None:
        """Write the fields of ``vehicle`` that differ from ``base`` (the vehicle as the caller read it; default:
        as stored now) onto the stored vehicle of that id; the changed world must still be valid."""
        with self._tx(write=True, what=f"updating vehicle {vehicle.id!r}") as conn:
            wid = q.world_id(conn, world, lock=True)
            current = q.load_world(conn, world)
            stored = current.vehicle(vehicle.id)
            old = stored if base is None else base
            # only the fields this change sets are written: a concurrent change to another field stays
            new = facts.apply_fields(stored, old, vehicle)
            dataclasses.replace(current, vehicles=tuple(new if v.id == vehicle.id else v for v in current.vehicles))  # validates
            old_row = rows.vehicle_row(wid, 0, stored)
            values = facts.changed_columns(old_row, rows.vehicle_row(wid, 0, new))
            if values:
                conn.execute(update(vehicles).where(vehicles.c.world_id == wid, vehicles.c.id == vehicle.id).values(**values))
            q.touch(conn, wid, self._now())
            before = {k: old_row[k] for k in values}
            self._audit(
                conn, world, "update_vehicle", f"vehicle {vehicle.id}: {facts.changes(stored, new)}", actor, subject=f"vehicle:{vehicle.id}", before=before, after=values
            )

    def update_order(self, world: str, order: Order, *, actor: str | None = None, base: Order | None = None) -> None:
        """Write the fields of ``order`` that differ from ``base`` (the order as the caller read it; default: as
        stored now), windows included, onto the stored order of that id; the changed world must still be valid."""
        with self._tx(write=True, what=f"updating order {order.id!r}") as conn:
            wid = q.world_id(conn, world, lock=True)
            current = q.load_world(conn, world)
            stored = current.order(order.id)
            old = stored if base is None else base
            new = facts.apply_fields(stored, old, order)
            dataclasses.replace(current, orders=tuple(new if o.id == order.id else o for o in current.orders))  # validates
            old_row = rows.order_row(wid, 0, stored)
            values = facts.changed_columns(old_row, rows.order_row(wid, 0, new))
            if values:
                conn.execute(update(orders).where(orders.c.world_id == wid, orders.c.id == order.id).values(**values))
            before: dict[str, object] = {k: old_row[k] for k in values}
            after: dict[str, object] = dict(values)
            if new.windows != stored.windows:
                facts.write_windows(conn, wid, order.id, [(w.start, w.end) for w in new.windows])
                before[facts.WINDOWS] = [[w.start, w.end] for w in stored.windows]
                after[facts.WINDOWS] = [[w.start, w.end] for w in new.windows]
            q.touch(conn, wid, self._now())
            self._audit(conn, world, "update_order", f"order {order.id}: {facts.changes(stored, new)}", actor, subject=f"order:{order.id}", before=before, after=after)

    def add_order(self, world: str, order: Order, *, actor: str | None = None) -> None:
        """Add one new order to a stored world."""
        self.add_orders(world, [order], actor=actor)

    def add_orders(self, world: str, new: Sequence[Order], *, actor: str | None = None) -> None:
        """Add new orders in one transaction (both halves of a pickup-and-delivery pair must come together)."""
        with self._tx(write=True, what="adding orders") as conn:
            wid = q.world_id(conn, world, lock=True)
            current = q.load_world(conn, world)
            known = {o.id for o in current.orders}
            for o in new:
                if o.id in known:
                    raise InputError(f"order {o.id!r} already exists in world {world!r}; use update_order to change it")
            dataclasses.replace(current, orders=current.orders + tuple(new))  # validates
            q.insert_orders(conn, wid, new)
            q.touch(conn, wid, self._now())
            if len(new) == 1:  # one new order: undoing it cancels it (it stays in the store for the audit trail)
                subject = f"order:{new[0].id}"
                self._audit(conn, world, "add_order", f"added {new[0].id}", actor, subject=subject, before={"cancelled": True}, after={"cancelled": False})
            else:
                self._audit(conn, world, "add_order", "added " + ", ".join(o.id for o in new), actor)

    def undo_fact(self, world: str, subject: str | None = None, *, actor: str | None = None) -> UndoneFact:
        """Reverse the latest fact recorded on a vehicle or order (``subject`` like ``vehicle:HZ-V2``; None: the
        latest fact of the world) that is not undone yet. Each changed field goes back to its old value unless
        something changed it since (then it is kept and reported). Raises InputError when there is nothing to undo."""
        with self._tx(write=True, what="undoing a fact") as conn:
            wid = q.world_id(conn, world, lock=True)
            query = select(audit_log).where(audit_log.c.world == world, audit_log.c.before.is_not(None), audit_log.c.undone_by.is_(None))
            if subject is not None:
                query = query.where(audit_log.c.subject == subject)
            row = conn.execute(query.order_by(audit_log.c.id.desc()).limit(1)).mappings().first()
            if row is None:
                raise InputError(f"there is no recorded change{' of ' + subject.replace(':', ' ') if subject else ''} to undo")
            reverted, kept = facts.revert_fields(conn, wid, str(row["subject"]), dict(row["before"] or {}), dict(row["after"] or {}))
            q.load_world(conn, world)  # the world must still be valid (loading validates it)
            q.touch(conn, wid, self._now())
            detail = f"undid #{row['id']} ({row['detail']}): " + (", ".join(reverted) or "nothing") + (f"; kept (changed since): {', '.join(kept)}" if kept else "")
            undo_id = self._audit(conn, world, "undo", detail, actor)
            conn.execute(update(audit_log).where(audit_log.c.id == row["id"]).values(undone_by=undo_id))
            later = conn.execute(
                select(audit_log.c.action, audit_log.c.subject)
                .where(audit_log.c.world == world, audit_log.c.id > row["id"], audit_log.c.subject.like("plan:%"))
                .order_by(audit_log.c.id)
            ).all()
            saved = tuple(dict.fromkeys(int(str(subj)[5:]) for action, subj in later if action == "save_plan"))
            return UndoneFact(
                audit_id=int(row["id"]),
                subject=str(row["subject"]),
                detail=str(row["detail"]),
                at=int(row["at"]),
                reverted=tuple(reverted),
                kept=tuple(kept),
                plans_after=saved,
                committed_after=any(action == "commit_plan" for action, _ in later),
            )

    def import_history(self, world: str, items: Sequence[HistoryRow], *, replace: bool = False, actor: str | None = None) -> None:
        """Add daily volumes to a stored world's history in one transaction.

        A series that already has history is refused unless ``replace`` is set; then its old rows are
        removed first. Series not named in ``items`` are left as they are.
        """
        keys = sorted({h.series for h in items})
        if not keys:
            raise InputError("no history rows to import")
        with self._tx(write=True, what=f"importing history into world {world!r}", rejected=lambda m: ImportFailed([m])) as conn:
            wid = q.world_id(conn, world, lock=True)
            stored = set(conn.scalars(select(history.c.series).where(history.c.world_id == wid, history.c.series.in_(keys)).distinct()))
            if stored and not replace:
                raise InputError(f"world {world!r} already has history for series {', '.join(sorted(stored))}; import with replace to swap it")
            if stored:
                conn.execute(delete(history).where(history.c.world_id == wid, history.c.series.in_(sorted(stored))))
            top = conn.scalar(select(func.max(history.c.seq)).where(history.c.world_id == wid))
            first = 0 if top is None else int(top) + 1
            q.insert_rows(conn, history, [rows.history_row(wid, first + i, h) for i, h in enumerate(items)])
            q.touch(conn, wid, self._now())
            what = "replaced" if stored else "added"
            self._audit(conn, world, "import_history", f"{what} {len(items)} history rows for {len(keys)} series: {', '.join(keys[:10])}", actor)

    def audit(self, world: str) -> list[AuditEntry]:
        """The audit trail of a world, oldest first (it survives replacing the world)."""
        with self._tx() as conn:
            q.world_id(conn, world)
            result = conn.execute(select(audit_log).where(audit_log.c.world == world).order_by(audit_log.c.id)).mappings()
            return [AuditEntry(**{k: r[k] for k in ("id", "world", "at", "action", "detail", "actor")}) for r in result]

    # -- plans -------------------------------------------------------------------------------

    def save_plan(self, world: str, plan: Plan, status: PlanStatus = PlanStatus.DRAFT, note: str = "", *, actor: str | None = None) -> int:
        """Store a plan (a new id; ``plan.id`` is ignored) and return its id.

        Saving straight as COMMITTED supersedes the previous committed plan in the same transaction.
        ``note`` replaces ``plan.note`` when given; ``created_at`` is kept when the plan has one.
        """
        status = PlanStatus(status)
        with self._tx(write=True, what=f"saving a plan for world {world!r}") as conn:
            wid = q.world_id(conn, world, lock=True)
            q.check_references(conn, wid, plan)
            previous = q.supersede(conn, wid) if status is PlanStatus.COMMITTED else None
            created_at = self._now() if plan.created_at is None else plan.created_at
            plan_id, summary = q.insert_plan(conn, wid, plan, status, note or plan.note, created_at)
            superseded = "" if previous is None else f"; plan {previous} superseded"
            self._audit(conn, world, "save_plan", f"plan {plan_id} saved as {status.value}: {summary}{superseded}", actor, subject=f"plan:{plan_id}")
            return plan_id

    def commit_plan(self, world: str, plan_id: int, note: str = "", *, actor: str | None = None) -> None:
        """Make a draft plan the committed one; the previous committed plan becomes superseded (one transaction).

        ``note``, when given, replaces the plan's note. Committing the committed plan again changes nothing.
        """
        with self._tx(write=True, what=f"committing plan {plan_id}") as conn:
            wid = q.world_id(conn, world, lock=True)
            status = q.plan_status(conn, plan_id, world, wid)
            if status is PlanStatus.COMMITTED:
                return
            if status is not PlanStatus.DRAFT:
                raise InputError(f"plan {plan_id} is {status.value} and cannot be committed; save it again as a new plan to reuse it")
            previous = q.supersede(conn, wid)
            q.set_plan(conn, plan_id, status=PlanStatus.COMMITTED.value, **({"note": note} if note else {}))
            detail = f"plan {plan_id} committed" + ("" if previous is None else f"; plan {previous} superseded")
            self._audit(conn, world, "commit_plan", detail + (f"; note: {note}" if note else ""), actor, subject=f"plan:{plan_id}")

    def discard_plan(self, plan_id: int, *, actor: str | None = None) -> None:
        """Mark a draft plan discarded (discarding it again changes nothing; committed and superseded plans are kept)."""
        with self._tx(write=True, what=f"discarding plan {plan_id}") as conn:
            world = q.plan_world(conn, plan_id)
            status = q.plan_status(conn, plan_id, world, q.world_id(conn, world, lock=True))
            if status is PlanStatus.DISCARDED:
                return
            if status is not PlanStatus.DRAFT:
                raise InputError(f"plan {plan_id} is {status.value}; only draft plans can be discarded")
            q.set_plan(conn, plan_id, status=PlanStatus.DISCARDED.value)
            self._audit(conn, world, "discard_plan", f"plan {plan_id} discarded", actor)

    def get_plan(self, plan_id: int) -> StoredPlan:
        """A stored plan by id (raises NotFound)."""
        with self._tx() as conn:
            q.plan_world(conn, plan_id)
            return q.load_plans(conn, plans.c.id == plan_id)[0]

    def committed_plan(self, world: str) -> StoredPlan | None:
        """The committed plan of a world, if any."""
        with self._tx() as conn:
            wid = q.world_id(conn, world)
            found = q.load_plans(conn, (plans.c.world_id == wid) & (plans.c.status == PlanStatus.COMMITTED.value))
            return found[0] if found else None

    def plans(self, world: str) -> list[StoredPlan]:
        """Every plan of a world, oldest first."""
        with self._tx() as conn:
            return q.load_plans(conn, plans.c.world_id == q.world_id(conn, world))
