from . import sale_order_cancel_reconciled_reason
from . import sale_order_cancel_reconciled_log
from . import sale_order_cancel_reconciled_log_mixin
from . import account_move
from . import account_payment
from . import res_company
from . import res_config_settings
from . import sale_order
