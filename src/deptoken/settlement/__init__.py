"""Settlement between deposit tokens: FX payment-versus-payment (pvp), trade escrow, hashed timelocks (htlc)."""
