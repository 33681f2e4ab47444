"""The incident loop (事件处置): cases, their workflow, deadlines, escalation, photos and figures."""
