"""Local stand-ins for the services notifications talk to (SMTP, Twilio), on loopback only."""
