from odoo.tests import tagged

from .common import CancelReconciledCommon


@tagged("post_install", "-at_install")
class TestEngine(CancelReconciledCommon):
    def test_full_payment_reverse_keep_return(self):
        order, invoice, payment = self.paid_delivered_order()
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(self.on_hand(self.product_a), 98.0)

        logs, action = self.cancel(order)

        self.assertEqual(order.state, "cancel")
        self.assertEqual(invoice.payment_state, "reversed")
        credit_note = invoice.reversal_move_ids
        self.assertRecordValues(credit_note, [{"move_type": "out_refund", "state": "posted", "amount_total": 200.0}])
        self.assertEqual(payment.state, "in_process")
        self.assertAlmostEqual(self.receivable_balance(), -200.0)
        returns = order.picking_ids.filtered("return_id")
        self.assertEqual(len(returns), 1)
        self.assertEqual(returns.state, "assigned")
        self.assertEqual(self.on_hand(self.product_a), 98.0)
        self.assertEqual(action["res_id"], logs.id)
        self.assertRecordValues(
            logs, [{"state": "to_review", "amount_unreconciled": 200.0, "amount_reversed": 200.0}]
        )
        self.assertEqual(
            sorted(logs.line_ids.mapped("kind")), ["credit_note", "picking_return", "unreconcile"]
        )
