"""What editors do to an edition: rewrite, move, pin, drop, the caps that respect pins."""
