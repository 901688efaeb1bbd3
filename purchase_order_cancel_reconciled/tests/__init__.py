from . import test_purchase_cancel
from . import test_purchase_guard
