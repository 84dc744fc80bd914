from pentagon.tracking.settings import Settings


def test_settings_default_addr() -> None:
    assert Settings().tracking_addr
