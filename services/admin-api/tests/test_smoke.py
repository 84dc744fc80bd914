from pentagon.admin.settings import Settings


def test_settings_default_addr() -> None:
    assert Settings().admin_api_addr
