"""The user directory: Cognito, where each user's e-mail address lives (it is never copied into orders or events)."""

from __future__ import annotations

import re
from typing import Any, Optional

from bazaar.adapters import sdk

_SUB = re.compile(r"[A-Za-z0-9-]{1,128}")  # Cognito subs are UUIDs; anything else cannot be a user here


class CognitoUserDirectory:
    def __init__(self, user_pool_id: str, client: Optional[Any] = None) -> None:
        self._pool = user_pool_id
        self._idp = client or sdk.client("cognito-idp")

    def email_of(self, user_id: str) -> Optional[str]:
        # ListUsers with a filter on `sub` is how Cognito finds a user by id (the username may differ). The id
        # is checked first, so it can never change the filter expression.
        if not _SUB.fullmatch(user_id):
            return None
        users = self._idp.list_users(UserPoolId=self._pool, Filter=f'sub = "{user_id}"', Limit=1,
                                     AttributesToGet=["email"])["Users"]
        for user in users:
            for attr in user.get("Attributes", []):
                if attr["Name"] == "email" and attr.get("Value"):
                    return str(attr["Value"])
        return None
