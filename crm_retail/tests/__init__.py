from . import test_customer_file
from . import test_purchase_statistics
from . import test_i18n
from . import test_loyalty
from . import test_portal
from . import test_funnel
from . import test_pipeline_tour
