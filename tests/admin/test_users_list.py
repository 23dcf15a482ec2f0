"""/admin/users: the list admins work from: search by name, display name or
address in any case, the dashboard's lists as filters, 50 to a page; admins only."""

from __future__ import annotations

import pytest

from tests import pages

BULK = "/admin/users/reset"


def listed(page):
    """The user names ticked-able on the page, in order (each row's checkbox)."""
    ids = [i["value"] for i in pages.form(page, BULK)["inputs"] if i.get("name") == "user"]
    html = page.get_data(as_text=True)
    return [html.split(f'for="user-{i}">', 1)[1].split("<", 1)[0] for i in ids]


@pytest.fixture
def root(admin_browser):
    browser, _user = admin_browser("root")
    return browser


@pytest.fixture
def people(make_user):
    make_user("alice", display_name="Alice Andersen", alternate_email="alice@mail.example.org")
    make_user("bob", display_name="Bob Berg", alternate_email="Robert.B@Example.ORG")
    make_user("carol", display_name="Carol Clausen", alternate_email="carol@mail.example.org")


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("ALI", ["alice"]),
        ("clausen", ["carol"]),
        ("robert.b@example", ["bob"]),
        ("MAIL.example.ORG", ["alice", "carol", "root"]),
    ],
    ids=["user-name", "display-name", "e-mail", "e-mail-domain"],
)
def test_search_matches_names_and_addresses_in_any_case(root, people, typed, found):
    """The search finds a part of the user name, display name or alternate e-mail, whatever its case."""

    page = root.get("/admin/users", query_string={"q": typed})

    assert page.status_code == 200
    assert listed(page) == found


def test_search_treats_wildcards_as_letters(root, people, make_user):
    """A % or _ typed in the search is looked for as it is, not as a SQL wildcard."""
    make_user("under_score")

    page = root.get("/admin/users", query_string={"q": "r_s"})

    assert listed(page) == ["under_score"]


def test_filter_shows_one_of_the_dashboards_lists(root, make_user):
    """?filter=must-change lists only the users who must change their password."""
    make_user("alice", must_change_password=True)
    make_user("bob")

    page = root.get("/admin/users?filter=must-change")

    assert listed(page) == ["alice"]


def test_every_dashboard_tile_opens_its_list(root):
    """Each tile on the dashboard links to the users page filtered by its list, and that page opens."""
    dashboard = root.get("/admin").get_data(as_text=True)

    links = [part.split('"', 1)[0].replace("&amp;", "&") for part in dashboard.split('href="')[1:]]
    tiles = [link for link in links if link.startswith("/admin/users?filter=")]

    assert len(tiles) == 5
    assert all(root.get(link).status_code == 200 for link in tiles)


def test_an_unknown_filter_is_a_bad_request(root):
    """A filter name that is not one of the lists gets 400, not an unfiltered list."""

    page = root.get("/admin/users?filter=everyone-with-a-b")

    assert page.status_code == 400


def test_the_list_is_paged_by_fifty(root, bulk_users):
    """120 users and the admin: pages of 50, 50 and 21, in user-name order, with links between them."""
    bulk_users(120)

    first = root.get("/admin/users")
    last = root.get("/admin/users?page=3")

    assert len(listed(first)) == 50
    assert listed(first)[:2] == ["root", "user0000"]
    assert listed(last)[-1] == "user0119" and len(listed(last)) == 21
    assert 'href="/admin/users?page=2"' in first.get_data(as_text=True)
    assert "Page 3 of 3" in last.get_data(as_text=True)


def test_a_page_past_the_end_shows_the_last_page(root, bulk_users):
    """?page=99 (or garbage) does not fail: it shows the last (or first) page."""
    bulk_users(60)

    past = root.get("/admin/users?page=99")
    garbage = root.get("/admin/users?page=abc")

    assert listed(past)[-1] == "user0059"
    assert listed(garbage)[0] == "root"


def test_the_list_shows_what_an_admin_needs_at_a_glance(root, make_user):
    """Display name, role, registered methods and flags are in the row."""
    make_user("alice", display_name="Alice Andersen", phone=None, must_change_password=True)

    html = root.get("/admin/users?q=alice").get_data(as_text=True)

    assert "Alice Andersen" in html
    assert "e-mail" in html and "SMS" not in html.split("Alice Andersen", 1)[1].split("</tr>", 1)[0]
    assert "must change password" in html


def test_a_password_admin_sees_global_admins_but_cannot_select_them(admin_browser, make_user):
    """Global admins are listed to a password admin without a checkbox or a link to manage them."""
    browser, _helper = admin_browser("helper", role="password-admin")
    make_user("boss", role="global-admin")

    page = browser.get("/admin/users")

    assert "boss" in page.get_data(as_text=True)
    assert "boss" not in listed(page)
    assert "helper" in listed(page)


def test_ordinary_users_get_a_403_page(admin_browser):
    """A signed-in user who is not an admin gets 403 (a page), and nobody signed in is sent to sign in."""
    browser, _user = admin_browser("alice", role="user")

    refused = browser.get("/admin/users")
    anonymous = browser.application.test_client().get("/admin/users")

    assert refused.status_code == 403
    assert "Not allowed" in refused.get_data(as_text=True)
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login")


def test_ticking_users_on_the_list_leads_to_the_bulk_pages(root, people):
    """The list's selection is a GET form: its checkboxes (and "all") go to the bulk reset page,
    and its second button to the forced change; neither changes anything by itself."""
    page = root.get("/admin/users")
    form = pages.form(page, BULK)
    ticked = [i["value"] for i in form["inputs"] if i.get("name") == "user"][:2]

    confirm = root.get(BULK, query_string={"user": ticked})

    html = page.get_data(as_text=True)
    assert form["method"] == "get"
    assert any(i.get("name") == "all" and i.get("value") == "1" for i in form["inputs"])
    assert 'formaction="/admin/users/force-change"' in html
    assert "2 users selected" in confirm.get_data(as_text=True)
