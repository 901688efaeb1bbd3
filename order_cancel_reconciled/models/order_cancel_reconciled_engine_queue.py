import logging
import time

from odoo import models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# The first key of PostgreSQL's two-key advisory locks, one per kind of row: the order itself (a
# run never waits for another run of the same order: it is refused at once, as before), then
# what cancellations of different orders share: the stock of a product (its quants, its
# valuation), the account of a customer. Numbers of the addon's own, so that its locks never meet
# another module's; the orders' space sorts first, so their keys are taken before any wait.
LOCK_SPACES = {"order": 784_200, "product": 784_201, "partner": 784_202}
# A run that has waited this long in all, starting again after each wait, waits in place instead.
START_AGAIN_SECONDS = 60


class OrderCancelReconciledEngineQueue(models.AbstractModel):
    """Cancellations that share rows wait for each other at the start of the run, in a fixed
    order, instead of colliding at the end.

    Two runs on orders of one product both update its quants; under PostgreSQL's repeatable
    read, the second to write fails with a serialization error once the first commits, after
    doing all its work. Odoo tries the whole request again at most five times, with growing
    pauses, and a rush of cancellations of a popular product ends in "busy" errors. Here each run
    first takes an advisory lock per shared row (its products, its customer), in the keys'
    order, so runs never wait for each other in a circle, and a run that finds a key taken waits
    for that run to finish, then starts its transaction again: its snapshot then includes what
    the other committed, and it no longer collides. The orders' own keys are only tried: a run on
    an order another run holds is refused at once (``_lock_orders`` refuses the same way when a
    payment or an edit holds the order).
    """

    _name = "order.cancel.reconciled.engine.queue"
    _description = "Cancellation engine: waiting for the rows other cancellations share"

    def _get_shared_row_keys(self, orders):
        """The (space, id) advisory lock keys of the rows this run updates that runs on other
        orders update too, sorted: every run takes them in the same order."""
        return self._read_shared_row_keys(orders)[0]

    def _read_shared_row_keys(self, orders):
        """The keys (see _get_shared_row_keys), and whether this transaction has written or
        locked no row yet (PostgreSQL gives a transaction its id at its first write or row lock),
        in one statement."""
        self.env.cr.execute(
            SQL(
                "SELECT txid_current_if_assigned() IS NULL, array_agg(space), array_agg(row_id) "
                "FROM (%s) AS shared(space, row_id)",
                self._get_shared_rows_query(orders),
            )
        )
        unwritten, spaces, row_ids = self.env.cr.fetchone()
        keys = {(LOCK_SPACES["order"], order_id) for order_id in orders.ids}
        keys |= {(LOCK_SPACES[space], row_id) for space, row_id in zip(spaces or (), row_ids or (), strict=True)}
        return sorted(keys), unwritten

    def _get_shared_rows_query(self, orders):
        """The products of the orders' lines and of every move in their transfers (a kit's
        components are moved, not the kit; a move added by hand has no order line) and the
        orders' commercial partners, in one query: read through the ORM, they cost a query per
        relation, and the run reads them again after Odoo's own steps have emptied its cache."""
        lines = self.env[orders._fields["order_line"].comodel_name]
        line_order = orders._fields["order_line"].inverse_name
        order_ids = orders.ids
        queries = [
            SQL(
                "SELECT 'product', product_id FROM %s WHERE %s = ANY(%s) AND product_id IS NOT NULL",
                SQL.identifier(lines._table),
                SQL.identifier(line_order),
                order_ids,
            ),
            SQL(
                "SELECT 'partner', partner.commercial_partner_id FROM %s AS o JOIN res_partner AS partner "
                "ON partner.id = o.partner_id WHERE o.id = ANY(%s)",
                SQL.identifier(orders._table),
                order_ids,
            ),
        ]
        if "move_ids" in lines._fields:  # the stock app is installed
            queries.append(
                SQL(
                    "SELECT 'product', move.product_id FROM stock_move AS move WHERE move.picking_id IN "
                    "(SELECT own.picking_id FROM stock_move AS own JOIN %s AS line ON line.id = own.%s "
                    "WHERE line.%s = ANY(%s))",
                    SQL.identifier(lines._table),
                    SQL.identifier(lines._fields["move_ids"].inverse_name),
                    SQL.identifier(line_order),
                    order_ids,
                )
            )
        return SQL(" UNION ").join(queries)

    def _queue_behind_shared_rows(self, orders):
        """Hold the advisory lock of every shared row of the orders; True when the transaction
        was started again meanwhile (what was read before is gone: read it again).

        Starting again is safe only when this transaction has written nothing and expects
        nothing at commit: a fact read from PostgreSQL and the cursor, never from the caller.
        That holds for a call over RPC or JSON-2 and for the dialog's Confirm. Otherwise (code
        that wrote before calling, a batch line marked running) the run waits in place, in the
        same order, and a collision left is retried by Odoo or by the batch as before."""
        self.env.flush_all()
        keys, unwritten = self._read_shared_row_keys(orders)
        own = [key for key in keys if key[0] == LOCK_SPACES["order"]]
        shared = keys[len(own) :]
        if not self._may_start_again(unwritten):
            self._check_taken(orders, own, [self._try_then_wait(own, shared)])
            return False
        cr, started, restarted = self.env.cr, time.monotonic(), False
        while True:
            taken = self._try_locks(keys)
            self._check_taken(orders, own, taken[: len(own)])
            if all(taken):
                return restarted
            # What was taken out of order is let go before waiting (a circle of waits is then
            # impossible), the wait is for the first key taken by another run, then all again
            # on a fresh snapshot.
            busy = keys[taken.index(False)]
            self._start_again(cr)
            self._wait_for_locks([busy])
            self._start_again(cr)
            restarted = True
            waited = time.monotonic() - started
            _logger.debug("Cancellation of %s waited %.2f s for another one on shared rows", orders.ids, waited)
            if waited > START_AGAIN_SECONDS:
                self._wait_for_locks(keys)
                return restarted

    def _may_start_again(self, unwritten):
        """Nothing of this transaction would be lost by a rollback: no row written or locked
        (`unwritten`, read from PostgreSQL after everything waiting was written), no work
        registered for the commit."""
        cr = self.env.cr
        if cr.precommit._funcs or cr.postcommit._funcs:  # pylint: disable=protected-access
            return False
        return unwritten

    def _check_taken(self, orders, keys, taken):
        """Refuse at once when another run holds one of these orders."""
        if not all(taken):
            raise self._orders_busy_error(orders)

    def _try_locks(self, keys):
        """Try every key at once, without waiting: one boolean per key, in the keys' order."""
        if not keys:
            return []
        spaces, ids = zip(*keys, strict=True)
        self.env.cr.execute(
            SQL(
                "SELECT pg_try_advisory_xact_lock(space, id) FROM unnest(%s::int[], %s::int[]) "
                "WITH ORDINALITY AS key(space, id, position) ORDER BY position",
                list(spaces),
                list(ids),
            )
        )
        return [taken for (taken,) in self.env.cr.fetchall()]

    def _try_then_wait(self, tried, waited):
        """In one statement: try the keys `tried` without waiting; only when all were taken,
        take the keys `waited` one after the other in their order, waiting for each. True when
        the keys tried were all taken."""
        self.env.cr.execute(
            SQL(
                """WITH tried AS (SELECT bool_and(pg_try_advisory_xact_lock(space, id)) AS taken
                                  FROM unnest(%(tried_spaces)s::int[], %(tried_ids)s::int[]) AS key(space, id))
                   SELECT taken, (SELECT count(pg_advisory_xact_lock(space, id))
                                  FROM unnest(%(waited_spaces)s::int[], %(waited_ids)s::int[])
                                       WITH ORDINALITY AS key(space, id, position)
                                  WHERE tried.taken)
                   FROM tried""",
                tried_spaces=[space for space, _id in tried],
                tried_ids=[key_id for _space, key_id in tried],
                waited_spaces=[space for space, _id in waited],
                waited_ids=[key_id for _space, key_id in waited],
            )
        )
        return bool(self.env.cr.fetchone()[0])

    def _wait_for_locks(self, keys):
        """Take the keys one after the other in their order, waiting for each as long as it is
        held (a lock waits at most as long as the database's lock_timeout)."""
        if not keys:
            return
        spaces, ids = zip(*keys, strict=True)
        self.env.cr.execute(
            SQL(
                "SELECT count(pg_advisory_xact_lock(space, id)) FROM unnest(%s::int[], %s::int[]) "
                "WITH ORDINALITY AS key(space, id, position)",
                list(spaces),
                list(ids),
            )
        )

    def _start_again(self, cr):
        """Roll the transaction back (its advisory locks go with it) and forget what it read."""
        cr.rollback()
        cr.reset()
