"""Many calls: sweep items, the Live and Standard sweeps, control, budget, estimates."""
