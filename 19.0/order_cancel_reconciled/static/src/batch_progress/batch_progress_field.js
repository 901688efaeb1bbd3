import { ProgressBarField, progressBarField } from "@web/views/fields/progress_bar/progress_bar_field";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { onWillDestroy } from "@odoo/owl";

// Sent by the server each time an order of a batch is finished (see BUS_TYPE in
// models/sale_order_cancel_reconciled_batch.py).
const BUS_TYPE = "order_cancel_reconciled/batch_progress";

/**
 * The progress bar of a background cancellation: it reloads the batch when the server says one
 * of its orders is finished, so that the user watches it move without reloading the page.
 */
export class CancelBatchProgressField extends ProgressBarField {
    setup() {
        super.setup();
        const busService = useService("bus_service");
        const onProgress = (payload) => {
            const record = this.props.record;
            // The user may have several batches open in several tabs: only this one reloads.
            if (payload.batch_id === record.resId && !record.dirty) {
                record.load();
            }
        };
        busService.subscribe(BUS_TYPE, onProgress);
        onWillDestroy(() => busService.unsubscribe(BUS_TYPE, onProgress));
    }
}

export const cancelBatchProgressField = {
    ...progressBarField,
    component: CancelBatchProgressField,
};

registry.category("fields").add("cancel_batch_progress", cancelBatchProgressField);
