"""Deployment rules that cfn-lint, `sam validate --lint` and checkov do not check, each from
the AWS documentation named in its `source_url`. A template that breaks one passes those
linters and then fails (or deploys something other than what it says) in an account.

`infra/check` runs them: `cfn-lint --append-rules infra/rules template.yaml`, and first
against `infra/rules/violations.yaml`, which must break every one of them.
"""

from cfnlint.rules import CloudFormationLintRule, RuleMatch


def _branches(value):
    """The values an item may take: both branches of an Fn::If, else itself."""
    if isinstance(value, dict) and list(value.keys()) == ["Fn::If"]:
        args = value["Fn::If"]
        if isinstance(args, list) and len(args) == 3:
            return _branches(args[1]) + _branches(args[2])
    return [value]


def _referenced(cfn, value, resource_type):
    """The logical id of the resource of `resource_type` that `value` (a Ref) names."""
    if isinstance(value, dict) and list(value.keys()) == ["Ref"]:
        name = value["Ref"]
        resource = cfn.template.get("Resources", {}).get(name)
        if isinstance(resource, dict) and resource.get("Type") == resource_type:
            return name, resource
    return None, None


class UserGroupHasDefaultUser(CloudFormationLintRule):
    id = "E9101"
    shortdesc = "An ElastiCache user group holds a user named default"
    description = (
        "AWS::ElastiCache::UserGroup UserIds: 'A user named default must be included.' "
        "Without one the stack fails to create (DefaultUserRequired) and rolls back."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticache-usergroup.html"
    tags = ["resources", "elasticache"]

    def match(self, cfn):
        matches = []
        for name, group in cfn.get_resources(["AWS::ElastiCache::UserGroup"]).items():
            ids = group.get("Properties", {}).get("UserIds", [])
            if not isinstance(ids, list):
                continue
            found = False
            for item in ids:
                for value in _branches(item):
                    if value == "default":
                        found = True
                    _, user = _referenced(cfn, value, "AWS::ElastiCache::User")
                    if user and user.get("Properties", {}).get("UserName") == "default":
                        found = True
            if not found:
                matches.append(
                    RuleMatch(
                        ["Resources", name, "Properties", "UserIds"],
                        f"{name}: no user named 'default' in UserIds (CloudFormation requires one in every user group)",
                    )
                )
        return matches


class ValkeyGroupUsersAuthenticate(CloudFormationLintRule):
    id = "E9102"
    shortdesc = "A Valkey user group holds only users that authenticate"
    description = (
        "'A user group configured for the VALKEY engine can only contain users who are using an "
        "authentication mechanism (either password or IAM).' A no-password user (the usual "
        "disabled default user) is refused there."
    )
    source_url = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html"
    tags = ["resources", "elasticache"]

    def match(self, cfn):
        matches = []
        for name, group in cfn.get_resources(["AWS::ElastiCache::UserGroup"]).items():
            props = group.get("Properties", {})
            if str(props.get("Engine", "")).lower() != "valkey" or not isinstance(props.get("UserIds"), list):
                continue
            for item in props["UserIds"]:
                for value in _branches(item):
                    user_name, user = _referenced(cfn, value, "AWS::ElastiCache::User")
                    if not user:
                        continue
                    up = user.get("Properties", {})
                    mode = up.get("AuthenticationMode", {})
                    kind = mode.get("Type") if isinstance(mode, dict) else None
                    if up.get("NoPasswordRequired") is True or kind == "no-password-required" or (
                        kind is None and not up.get("Passwords")
                    ):
                        matches.append(
                            RuleMatch(
                                ["Resources", user_name, "Properties"],
                                f"{user_name} authenticates with neither a password nor IAM, so the Valkey group {name} cannot hold it",
                            )
                        )
        return matches


class IamUserIdIsItsName(CloudFormationLintRule):
    id = "E9103"
    shortdesc = "An ElastiCache IAM user's id and name are the same"
    description = "For IAM authentication, an ElastiCache user's user id and user name must be identical."
    source_url = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth-iam.html"
    tags = ["resources", "elasticache"]

    def match(self, cfn):
        matches = []
        for name, user in cfn.get_resources(["AWS::ElastiCache::User"]).items():
            props = user.get("Properties", {})
            mode = props.get("AuthenticationMode", {})
            if isinstance(mode, dict) and mode.get("Type") == "iam" and props.get("UserId") != props.get("UserName"):
                matches.append(
                    RuleMatch(["Resources", name, "Properties", "UserName"], f"{name}: an IAM user's UserName must equal its UserId")
                )
        return matches


class RetainExceptOnCreate(CloudFormationLintRule):
    id = "W9104"
    shortdesc = "Retained resources use RetainExceptOnCreate"
    description = (
        "'RetainExceptOnCreate behaves like Retain for stack operations, except for the stack "
        "operation that initially created the resource. If the stack operation that created "
        "the resource is rolled back, CloudFormation deletes the resource.' With Retain, a "
        "failed first deploy leaves the resource behind, and the next deploy fails on its name "
        "or leaves it orphaned."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html"
    tags = ["resources", "deletionpolicy"]

    def match(self, cfn):
        matches = []
        for name, resource in cfn.get_resources().items():
            if resource.get("DeletionPolicy") == "Retain":
                matches.append(
                    RuleMatch(
                        ["Resources", name, "DeletionPolicy"],
                        f"{name}: DeletionPolicy Retain keeps it after a failed first create; use RetainExceptOnCreate",
                    )
                )
        return matches


class NoSecretsInFunctionEnvironment(CloudFormationLintRule):
    id = "E9105"
    shortdesc = "No Secrets Manager dynamic reference in a function's environment"
    description = (
        "A secretsmanager dynamic reference is resolved into the property: 'the secret value may "
        "show up in the service whose resource it's being used in.' In a Lambda environment "
        "variable it is plain text in the function's configuration; read the secret at init "
        "instead."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html"
    tags = ["resources", "lambda", "secrets"]

    def match(self, cfn):
        matches = []
        places = [
            (["Globals", "Function"], cfn.template.get("Globals", {}).get("Function", {})),
        ]
        for name, fn in cfn.get_resources(["AWS::Serverless::Function", "AWS::Lambda::Function"]).items():
            places.append((["Resources", name, "Properties"], fn.get("Properties", {})))
        for path, props in places:
            variables = props.get("Environment", {}).get("Variables", {}) if isinstance(props, dict) else {}
            if not isinstance(variables, dict):
                continue
            for key, value in variables.items():
                if "{{resolve:secretsmanager:" in _text(value):
                    matches.append(
                        RuleMatch(
                            path + ["Environment", "Variables", key],
                            f"{key}: a Secrets Manager dynamic reference puts the secret in the function's configuration",
                        )
                    )
        return matches


def _text(value):
    """Every string inside a value, joined (intrinsic functions included)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(_text(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return ""
