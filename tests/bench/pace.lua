-- SPDX-License-Identifier: GPL-2.0-only
-- wrk script for scenario 2's latency figure: each of the 50 connections waits 50 ms after every
-- response, so the offered load is about 1,000 requests/s and no queue builds in the client.
function delay()
	return 50
end
