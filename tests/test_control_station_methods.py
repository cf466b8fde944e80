"""The small public station method the control surface needed: the EV's state of charge."""
from __future__ import annotations

import pytest

from ocpp_lib_csms import csms, running  # noqa: F401  (fixture)
from simulator.station import StationError


async def test_set_ev_soc_full_battery_suspends_the_ev(csms):
    async with running(csms) as st:
        await st.plug_in(1, soc=20)
        assert await st.present_tag(1, "TAG1") == "Started"
        assert st.connectors[1].status == "charging"
        seen = st.expect("ev_soc", 1)
        await st.set_ev_soc(1, 100)
        assert (await seen).data["soc"] == 100
        assert st.connectors[1].status == "suspended_ev"
        assert "SuspendedEV" in [s["status"] for s in csms.calls("StatusNotification")]


async def test_set_ev_soc_needs_an_ev_and_a_percentage(csms):
    async with running(csms) as st:
        with pytest.raises(StationError, match="no EV plugged in"):
            await st.set_ev_soc(1, 50)
        await st.plug_in(1)
        with pytest.raises(StationError, match="0..100"):
            await st.set_ev_soc(1, 120)
