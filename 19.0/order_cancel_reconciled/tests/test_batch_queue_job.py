"""With OCA's queue_job installed, each order of a batch is one job in the addon's channel, run
through queue_job's own job runner path (its controller's ``_runjob``).

This module runs in a database where queue_job is installed (``make test`` makes one); it is not
imported by ``tests/__init__.py``, so Odoo's own runner, whose database has no queue_job, does
not collect it. Run anywhere else, it fails with how to get queue_job.
"""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.sale_order_cancel_reconciled_batch import JOB_CHANNEL
from ..models.sale_order_cancel_reconciled_batch_line import (
    LATE_RETRY_INTERVAL,
    MAX_ATTEMPTS,
    MAX_WAIT_SECONDS,
    STALE_JOB_DELAY,
)
from .test_batch import BATCH, ENGINE, LINE, BatchCommon, raise_serialization_failure

try:
    from odoo.addons.queue_job.controllers.main import RunJobController
    from odoo.addons.queue_job.job import Job
except ImportError as error:
    raise ImportError(
        "These tests need OCA's queue_job: pip install --no-deps 'odoo-addon-queue_job==18.0.4.1.2.2' "
        "(scripts/setup.sh does it from requirements-oca.txt), then install queue_job in the test database."
    ) from error

JOB_METHOD = "_job_process"


@tagged("post_install", "-at_install")
class TestBatchJobs(BatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "queue.job" not in cls.env:
            raise RuntimeError(
                "queue_job is not installed in this database: install it (odoo-bin -i queue_job) to run these tests."
            )

    def start(self, orders, **options):
        """The dialog's Confirm, then the one job it leaves, which queues a job per line."""
        batch = super().start(orders, **options)
        queuing = (
            self.env["queue.job"]
            .sudo()
            .search([("model_name", "=", BATCH), ("method_name", "=", "_job_enqueue_lines")])
            .filtered(lambda job: job.records == batch)
        )
        self.assertEqual(len(queuing), 1, "the request creates one job, not one per order")
        self.assertEqual(queuing.channel, JOB_CHANNEL)
        self.assertFalse(self.jobs_of(batch))
        self.run_jobs(queuing)
        return batch

    def jobs_of(self, batch):
        return (
            self.env["queue.job"]
            .sudo()
            .search([("model_name", "=", LINE), ("method_name", "=", JOB_METHOD)])
            .filtered(lambda job: job.records & batch.line_ids)
        )

    def run_jobs(self, jobs):
        """As the job runner does: each job through queue_job's controller."""
        for record in jobs.filtered(lambda job: job.state in ("pending", "enqueued")):
            RunJobController._runjob(self.env, Job.load(self.env, record.uuid))

    def test_each_order_is_one_job_in_the_addon_channel(self):
        first, last = self.paid_order(), self.paid_order()
        bad = self.create_order()
        self.invoice(bad, post=False)
        batch = self.start(first | bad | last)
        jobs = self.jobs_of(batch)
        self.assertEqual(len(jobs), 3, "one job per order")
        self.assertEqual(set(jobs.mapped("channel")), {JOB_CHANNEL})
        self.assertEqual(set(batch.line_ids.mapped("job_uuid")), set(jobs.mapped("uuid")))
        batch._job_enqueue_lines()  # the queuing job run again: no second job for a waiting line
        self.assertEqual(self.jobs_of(batch), jobs)
        self.assertEqual(jobs.mapped("user_id"), self.env.user)
        self.assertFalse(
            self.env["ir.cron.trigger"].search(
                [("cron_id", "=", self.env.ref("order_cancel_reconciled.ir_cron_process_cancel_batches").id)]
            ),
            "the jobs run the orders, not the scheduled action",
        )

        self.run_jobs(jobs)
        self.assertEqual(set(jobs.mapped("state")), {"done"}, "a refused order is a result, not a failed job")
        states = {line.order_id: line.state for line in batch.line_ids}
        self.assertEqual([states[order] for order in (first, bad, last)], ["done", "failed", "done"])
        self.assertEqual((first | last).mapped("state"), ["cancel", "cancel"])
        self.assertEqual(batch.state, "done_with_errors")

        # Fixed, then retried: one new job for the failed order.
        draft = bad.invoice_ids
        draft.action_post()
        self.pay(draft)
        batch.action_retry_failed()
        retry_jobs = self.jobs_of(batch) - jobs
        self.assertEqual(len(retry_jobs), 1)
        self.run_jobs(retry_jobs)
        self.assertEqual((bad.state, batch.state), ("cancel", "done"))

    def test_a_job_run_twice_does_its_order_once(self):
        """A worker killed after its order committed may leave its job to be run again."""
        batch = self.start(self.paid_order() | self.paid_order() | self.paid_order())
        job = self.jobs_of(batch)[0]
        line = job.records
        self.run_jobs(job)
        self.assertEqual(line.state, "done")
        log = line.log_id
        self.assertEqual(
            Job.load(self.env, job.uuid).perform(), f"{line.order_id.name}: Done", "the second run finds it done"
        )
        self.assertEqual(
            self.env["sale.order.cancel.reconciled.log"].search([("order_id", "=", line.order_id.id)]), log
        )

    def test_conflict_queues_later_jobs_then_an_hourly_one_until_it_goes_through(self):
        batch = self.start(self.paid_order() | self.paid_order() | self.paid_order())
        line = batch.line_ids[0]
        first_job = self.jobs_of(batch).filtered(lambda job: job.records == line)
        with (
            patch(f"{ENGINE}._step_cancel_order", lambda engine, *args: raise_serialization_failure(engine.env)),
            mute_logger("odoo.sql_db"),
        ):
            self.run_jobs(first_job)
            self.assertEqual((first_job.state, line.state, line.attempts), ("done", "queued", 1))
            later = self.jobs_of(batch).filtered(lambda job: job.records == line) - first_job
            self.assertEqual(len(later), 1, "a job for later")
            self.assertEqual(later.eta, line.next_try, "when the line says")
            for _attempt in range(MAX_ATTEMPTS - 1):
                last_try = fields.Datetime.now()
                self.run_jobs(self.jobs_of(batch).filtered(lambda job: job.records == line))
            after = fields.Datetime.now()
        self.assertEqual((line.state, line.attempts, line.order_id.state), ("queued", MAX_ATTEMPTS, "sale"))
        waiting = self.jobs_of(batch).filtered(lambda job: job.records == line and job.state == "pending")
        self.assertEqual(len(waiting), 1, "one job waits for the next try")
        self.assertEqual(waiting.eta, line.next_try)
        self.assertGreaterEqual(line.next_try, last_try + LATE_RETRY_INTERVAL, "an hour later")
        self.assertLessEqual(line.next_try, after + LATE_RETRY_INTERVAL + timedelta(seconds=MAX_WAIT_SECONDS))
        self.assertIn(f"Tried {MAX_ATTEMPTS} times, next try at ", line.error)

        # The job runner runs it when its hour comes; the conflict is gone by then.
        self.run_jobs(waiting)
        self.assertEqual((waiting.state, line.state, line.order_id.state), ("done", "done", "cancel"))
        self.run_jobs(self.jobs_of(batch))
        self.assertEqual(batch.state, "done")
        self.assertEqual(
            self.env["sale.order.cancel.reconciled.log"].search([("order_id", "=", line.order_id.id)]), line.log_id
        )

    def test_scheduled_action_takes_over_a_lost_job_only(self):
        batch = self.start(self.paid_order() | self.paid_order() | self.paid_order())
        self.assertFalse(self.env[LINE]._cron_process(), "fresh jobs are left to the job runner")
        waiting, lost = batch.line_ids[0], batch.line_ids[1]
        (waiting | lost).sudo().next_try = fields.Datetime.now() - STALE_JOB_DELAY
        self.assertFalse(self.env[LINE]._cron_process(), "a job that waits for its turn is not lost")
        # A job that ended without running its order (cancelled by an administrator, failed).
        job = self.jobs_of(batch).filtered(lambda job: job.records == lost)
        job.sudo().state = "cancelled"
        self.assertEqual(self.env[LINE]._cron_process(), lost)
        self.assertEqual(lost.state, "done")
        self.assertEqual(waiting.state, "queued")
        self.assertEqual(lost.order_id.state, "cancel")
        self.assertEqual(
            self.env["sale.order.cancel.reconciled.log"].search_count([("order_id", "=", lost.order_id.id)]), 1
        )
