"""Pure plotly figure builders (no Streamlit): every figure the app shows, callable from tests.

Inputs are plain Python/torch values as returned by ``rcm_demo.analysis.lab`` and ``rcm_demo.analysis.probe``.
"""

from .attack import *  # noqa: F403
from .base import *  # noqa: F403
from .base import LOG_TICKS, _label  # noqa: F401
from .claim import claim_svg, claim_svg_text  # noqa: F401
from .pooling import *  # noqa: F403
from .svg import forest_svg, heatmaps_svg, scatter_svg  # noqa: F401
