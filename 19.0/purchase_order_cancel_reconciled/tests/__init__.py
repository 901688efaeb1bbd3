from . import test_purchase_cancel
from . import test_purchase_guard
from . import test_tours
from . import test_i18n
from . import test_abuse
