"""app.services.roles: the order of roles, parsing, the default rule and its exceptions."""

from __future__ import annotations

import pytest

from app.services.errors import BadRequest, Forbidden
from app.services.roles import KEY_ROLES, MEMBER_ROLES, Role, check, required_role


def test_roles_are_ordered_and_parsed():
    assert Role.OWNER > Role.ADMIN > Role.MEMBER > Role.VIEWER
    assert MEMBER_ROLES == ("owner", "admin", "member", "viewer")
    assert Role.parse(" Admin ") is Role.ADMIN
    with pytest.raises(BadRequest, match="unknown role 'boss'; use one of owner, admin"):
        Role.parse("boss")
    assert KEY_ROLES == {"ingestion": None, "full": Role.MEMBER, "admin": Role.ADMIN}


def test_reads_need_a_viewer_changes_a_member_and_the_exceptions_more():
    assert required_role("GET", "/api/{projectId}/raw-data") is Role.VIEWER
    assert required_role("HEAD", "/projects/{project_id}/data") is Role.VIEWER
    assert required_role("POST", "/api/{projectId}/jobs/train") is Role.MEMBER
    assert required_role("DELETE", "/api/{projectId}/raw-data/{sampleId}") is Role.MEMBER
    assert required_role("POST", "/api/{projectId}") is Role.ADMIN
    assert required_role("post", "/v1/api/{projectId}") is Role.ADMIN  # the SDK's prefix
    assert required_role("GET", "/api/{projectId}/devkeys") is Role.MEMBER
    assert required_role("GET", "/api/{projectId}/audit") is Role.ADMIN
    assert required_role("POST", "/projects/{project_id}/delete") is Role.OWNER


def test_a_refusal_names_both_roles():
    check(Role.ADMIN, "POST", "/api/{projectId}")
    with pytest.raises(Forbidden) as err:
        check(Role.MEMBER, "POST", "/api/{projectId}")
    assert err.value.message == "this needs the admin role in the project; you are member"
    with pytest.raises(Forbidden, match="this full key is member"):
        check(Role.MEMBER, "GET", "/api/{projectId}/audit", who="this full key")
