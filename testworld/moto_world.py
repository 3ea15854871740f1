"""moto's server with the one change this world needs: Parameter Store authorised per parameter.

    python3 -m testworld.moto_world [moto_server's arguments]

Stock moto checks every SSM call's IAM policy against Resource "*" (shared/TESTING-NOTES.md,
Parameter Store trap 1), so a role allowed only `parameter/app/*` would be refused everything,
or a role allowed "*" would prove nothing about scoping. AWS checks each parameter a call names:
`arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME` (the name without its leading `/`, without a
`:version` or `:label` selector); for `GetParametersByPath`, the path. This patch does the same.
"""

from __future__ import annotations

import sys


def parameter_arn(name: str, region: str, account: str, partition: str = "aws") -> str:
    if name.startswith("arn:"):
        # arn:aws:ssm:REGION:ACCOUNT:parameter/NAME[:SELECTOR]
        head, _, resource = name.partition(":parameter/")
        return f"{head}:parameter/{resource.split(':', 1)[0]}"
    return f"arn:{partition}:ssm:{region}:{account}:parameter/{name.split(':', 1)[0].strip('/')}"


def patch_ssm_authorisation() -> None:
    from moto.ssm.responses import SimpleSystemManagerResponse
    from moto.utilities.utils import get_partition

    original = SimpleSystemManagerResponse._authenticate_and_authorize_normal_action
    if getattr(original, "per_parameter", False):
        return

    def per_parameter(self, resource: str = "*") -> None:
        action = self._get_action()
        names: list[str] = []
        if action == "GetParameters":
            names = list(self._get_param("Names") or [])
        elif action in ("GetParameter", "GetParameterHistory"):
            names = [self._get_param("Name")]
        elif action == "GetParametersByPath":
            names = [self._get_param("Path")]
        if not names:
            return original(self, resource)
        for name in names:
            original(self, parameter_arn(str(name), self.region, self.current_account, get_partition(self.region)))

    per_parameter.per_parameter = True
    SimpleSystemManagerResponse._authenticate_and_authorize_normal_action = per_parameter


def main(argv: list[str] | None = None) -> None:
    patch_ssm_authorisation()
    from moto.server import main as moto_main
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
