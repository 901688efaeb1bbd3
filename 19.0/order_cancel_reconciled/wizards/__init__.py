from . import sale_order_cancel_reconciled
from . import sale_mass_cancel_orders
