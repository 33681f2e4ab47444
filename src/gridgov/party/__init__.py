"""Party building on the grid (党建网格): organisations, registers, volunteers, meetings, 责任区 and the check."""
