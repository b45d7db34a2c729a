"""Web identity (EKS IRSA, ``AWS_WEB_IDENTITY_TOKEN_FILE`` + ``AWS_ROLE_ARN``): recognised, not implemented.

Getting credentials this way means calling STS ``AssumeRoleWithWebIdentity``, which this package does not
do. The source is still part of the chain, at the place the AWS tools give it (after the shared files,
before the container and instance-metadata sources), so that a pod configured for a role fails with a
clear error instead of silently signing with the node's instance role.
"""

from __future__ import annotations

import os

from ..credentials import Credentials
from .errors import NoCredentialsError, UnsupportedProfileError

TOKEN_FILE = "AWS_WEB_IDENTITY_TOKEN_FILE"
ROLE_ARN = "AWS_ROLE_ARN"


class WebIdentityProvider:
    """Raises :class:`UnsupportedProfileError` when web identity is configured; otherwise has nothing."""

    def load(self) -> Credentials:
        """Never returns credentials: see the module docstring."""
        token_file = os.environ.get(TOKEN_FILE)
        role_arn = os.environ.get(ROLE_ARN)
        if token_file and role_arn:
            raise UnsupportedProfileError(
                f"{TOKEN_FILE} and {ROLE_ARN} ask for web-identity credentials (STS "
                f"AssumeRoleWithWebIdentity for {role_arn}), which bedrock-stream does not implement; "
                "pass credentials explicitly, use a credential_process, or unset these variables"
            )
        raise NoCredentialsError([f"web identity: {TOKEN_FILE} / {ROLE_ARN} not both set"])

    def __repr__(self) -> str:
        return "WebIdentityProvider()"
