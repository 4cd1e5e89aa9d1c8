"""The REST API's user endpoints: ``user`` and ``user/current``."""

from __future__ import annotations

from confluence_sandbox.server.base import ApiError, _Query
from confluence_sandbox.server.rest import RestApi


class UserApi(RestApi):
    """``GET /rest/api/user`` and ``GET /rest/api/user/current``."""

    def h_user(self, q: _Query, _body: bytes) -> dict:
        """``GET /rest/api/user``: a user by account id (Cloud) or by username or key (Data Center)."""
        corpus = self.sandbox.corpus
        if self.sandbox.flavor == "cloud":
            ref = q.get("accountId")
            if not ref:
                raise ApiError(400, "accountId is required (username and key are not supported on Cloud)")
            user = corpus.find_user(ref)
            if user is None or user.account_id != ref:
                raise ApiError(404, f"No user found with accountId : {ref}")
        else:
            username, key = q.get("username"), q.get("key")
            if not username and not key:
                raise ApiError(400, "username or key is required")
            user = corpus.find_user(username or key or "")
            if user is None or (username and user.username != username) or (key and user.user_key != key):
                raise ApiError(404, f"No user found with {'username' if username else 'key'} : {username or key}")
        out = self.r.user(user)
        out["_links"].update({"base": self.r.base, "context": self.r.context})
        return out

    def h_current_user(self, q: _Query, _body: bytes) -> dict:
        """``GET /rest/api/user/current``: the token's user."""
        corpus = self.sandbox.corpus
        user = corpus.find_user("sandbox")
        assert user is not None
        tz = self.sandbox.timezone if self.sandbox.flavor == "cloud" else None
        return self.r.user(user, current=True, email=self.sandbox.email, tz=tz)
