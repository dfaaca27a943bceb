"""Fraud defence tools: the scam-message checker, spot-the-scam drills, the loan calculator."""
