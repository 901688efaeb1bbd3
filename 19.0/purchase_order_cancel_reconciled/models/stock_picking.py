from odoo import models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def _is_direct_to_customer(self):
        """A dropship: from the vendor straight to a customer, never through our stock."""
        self.ensure_one()
        return self.location_id.usage == "supplier" and self.location_dest_id.usage == "customer"
