"""certgen: personalized referral gift certificates with unique, recorded codes."""

__version__ = "0.1.0"
