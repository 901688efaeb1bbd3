import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { waitFor } from "@odoo/hoot-dom";
import { animationFrame } from "@odoo/hoot-mock";
import { defineModels, fields, models, mountView, MockServer } from "@web/../tests/web_test_helpers";

const BUS_TYPE = "order_cancel_reconciled/batch_progress";

class Batch extends models.Model {
    _name = "sale.order.cancel.reconciled.batch";
    progress = fields.Float();
    _records = [
        { id: 1, progress: 0 },
        { id: 2, progress: 0 },
    ];
}

// Sales brings Discuss, whose models the bus of the web client needs.
defineMailModels();
defineModels([Batch]);
describe.current.tags("desktop");

test("the batch's progress bar moves when the server says an order is finished", async () => {
    await mountView({
        type: "form",
        resModel: "sale.order.cancel.reconciled.batch",
        resId: 1,
        arch: `<form edit="0"><field name="progress" widget="cancel_batch_progress"/></form>`,
    });
    expect(".o_progressbar_value").toHaveText(/^0\s*%$/);

    MockServer.env["sale.order.cancel.reconciled.batch"].write([1, 2], { progress: 50 });
    // News of another batch of the user's does not reload this one.
    MockServer.env["bus.bus"]._sendone("broadcast", BUS_TYPE, { batch_id: 2 });
    await animationFrame();
    await animationFrame();
    expect(".o_progressbar_value").toHaveText(/^0\s*%$/);

    MockServer.env["bus.bus"]._sendone("broadcast", BUS_TYPE, { batch_id: 1 });
    await waitFor(".o_progressbar_value:contains(50)");
    expect(".o_progressbar_value").toHaveText(/^50\s*%$/);
});
