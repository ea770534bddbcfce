"""Static addresses carry the file's content hash; only such an address may be kept long."""

from __future__ import annotations

import re
import shutil

import pytest

from kiosk import static_files


@pytest.fixture
def app(make_app, tmp_path):
    app = make_app()
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)
    return app


def test_pages_link_static_files_by_their_content_hash(app):
    with app.test_request_context():
        from flask import url_for

        address = url_for("static", filename="css/loket.css")
    assert re.fullmatch(r"/static/css/loket\.css\?v=[0-9a-f]{12}", address)


def test_a_versioned_address_is_kept_a_year_others_are_asked_again(app):
    client = app.test_client()
    version = static_files.file_version(app.static_folder, "css/loket.css")
    with client.get(f"/static/css/loket.css?v={version}") as current:
        assert current.status_code == 200
        assert current.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with client.get("/static/css/loket.css") as plain:
        assert plain.headers["Cache-Control"] == "no-cache"
    # An old page asking by an old hash gets today's file, but must not keep it as the old one.
    with client.get("/static/css/loket.css?v=000000000000") as stale:
        assert stale.status_code == 200
        assert stale.headers["Cache-Control"] == "no-cache"


def test_a_changed_file_gets_a_new_address(app, tmp_path):
    path = tmp_path / "static" / "css" / "loket.css"
    before = static_files.file_version(app.static_folder, "css/loket.css")
    path.write_text(path.read_text() + "\n/* changed */\n")
    after = static_files.file_version(app.static_folder, "css/loket.css")
    assert before and after and before != after


def test_no_version_for_what_is_not_a_static_file(app):
    assert static_files.file_version(app.static_folder, "css/missing.css") is None
    assert static_files.file_version(app.static_folder, "../pyproject.toml") is None
    with app.test_client().get("/static/../pyproject.toml?v=1") as response:
        assert response.status_code == 404
