"""The batch's progress bar in the web client: its JavaScript unit test (Odoo's test runner, HOOT)
in Chromium. The websocket is off in Odoo's test mode, so the test drives the bus of the mock
server; scripts/check_websocket.py shows the real notification arriving over /websocket."""

from odoo.tests import HttpCase, tagged

SUITE = "@order_cancel_reconciled/unit/batch_progress"


def hoot_hash(name):
    """HOOT's id of a suite, as Odoo's own runner computes it (web/tests/test_js.py)."""
    value = 0
    for char in name:
        value = ((value << 5) - value + ord(char)) & 0xFFFFFFFF
    return f"{value:08x}"


@tagged("post_install", "-at_install")
class TestBatchProgressWidget(HttpCase):
    def test_progress_bar_reloads_on_the_batch_notification(self):
        self.browser_js(
            f"/web/tests?headless&loglevel=2&preset=desktop&timeout=15000&id={hoot_hash(SUITE)}",
            "",
            "",
            login="admin",
            timeout=300,
            success_signal="[HOOT] Test suite succeeded",
            error_checker=lambda message: "[HOOT]" not in message,
        )
