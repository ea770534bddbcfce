"""The Flask extension objects, made once and bound to each app in `create_app`.

Services are wired in `kiosk.factories`; the Socket.IO server is made per app (see `create_app`)
so that each app has its own handlers, and its notifier lives in `display.namespace`.
"""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
