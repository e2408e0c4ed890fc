#!/usr/bin/env bash
# The speech analytics load run (issue 19): scripts/load.sh with every call
# recorded, the caller's side of each spotted live for cancel, supervisor
# and refund, and LIVE_CALLS (default 4) transcribed live on both sides.
#
#   scripts/load-speech.sh [CALLS] [RATE]   defaults: 200 calls at 10/s
#   SPOT_CALLS=N   streams spotted at once (default: every call)
#
# The callers talk with SIPp's g711a.pcap sample; see scripts/load.sh for
# what is measured. Needs libpocketsphinx-dev and pocketsphinx-en-us.
set -euo pipefail
cd "$(dirname "$0")/.."
SPEECH=1 exec scripts/load.sh "$@"
