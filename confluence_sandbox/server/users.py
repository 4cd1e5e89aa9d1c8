"""The REST API's user endpoints: ``user``, ``user/bulk`` (Cloud) and ``user/current``."""

from __future__ import annotations

from confluence_sandbox.server.base import ApiError, _Query
from confluence_sandbox.server.rest import RestApi


class UserApi(RestApi):
    """``GET /rest/api/user``, ``GET /rest/api/user/bulk`` and ``GET /rest/api/user/current``."""

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

    def h_user_bulk(self, q: _Query, _body: bytes) -> dict:
        """``GET /rest/api/user/bulk`` (Cloud only): the users of the ``accountId`` parameters, at most 200.

        Ids of no user are left out of the results, as Cloud does; Data Center has no such resource.
        """
        if self.sandbox.flavor != "cloud":
            raise ApiError(404, "null for uri: /rest/api/user/bulk")
        ids = q.all("accountId")
        if not ids:
            raise ApiError(400, "accountId is required")
        limit = min(q.integer("limit", 200, minimum=1), 200)
        corpus = self.sandbox.corpus
        results = []
        for ref in list(dict.fromkeys(ids))[:limit]:
            user = corpus.find_user(ref)
            if user is not None and user.account_id == ref:
                results.append(self.r.user(user))
        return self.r.collection(results, start=0, limit=limit, self_path="/rest/api/user/bulk")

    def h_current_user(self, q: _Query, _body: bytes) -> dict:
        """``GET /rest/api/user/current``: the token's user."""
        corpus = self.sandbox.corpus
        user = corpus.find_user("sandbox")
        assert user is not None
        tz = self.sandbox.timezone if self.sandbox.flavor == "cloud" else None
        return self.r.user(user, current=True, email=self.sandbox.email, tz=tz)
