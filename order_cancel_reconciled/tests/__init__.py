from . import test_engine
from . import test_engine_stock
from . import test_engine_guards
from . import test_review
from . import test_reliability
from . import test_sales_ui
from . import test_tours
from . import test_i18n
