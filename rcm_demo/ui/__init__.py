"""The only module that imports Streamlit: page frame, URL state, shared widgets, cached computations.

Pages follow one contract: ``page_header`` -> ``url_state`` with the page's own keys -> controls from
here -> cached computation keyed by cheap values -> metrics/tables and figures from ``rcm_demo.viz``
(shown with ``chart``). User errors become ``st.error``/``st.info``, never a traceback.

A page declares its URL keys next to its widgets::

    STATE = {"models": ui.checkpoint_list(ui.default_models()), **ui.ATTACK_STATE, "n": ui.in_range(L.IMAGES)}
    ui.url_state(STATE)        # seeds widget keys from the link once per session, says what it replaced
    ...widgets with key=<the same names>...
    ui.write_url(STATE)        # mirrors the widgets back into the link
"""

from .cache import *  # noqa: F403
from .compute import *  # noqa: F403
from .frame import *  # noqa: F403
from .state import *  # noqa: F403
from .views import *  # noqa: F403
from .widgets import *  # noqa: F403
