"""Phone support through Twilio Voice: an IVR menu defined in the admin UI and rendered as TwiML, calls
forwarded to a team's number, voicemail (recording and transcript) and callback requests as tickets, and a
call log on tickets and the customer timeline (also for calls agents log by hand)."""
