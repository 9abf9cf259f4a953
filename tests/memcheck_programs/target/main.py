"""Runs shapes, which kernprof -p profiles."""
import shapes

print(shapes.total_area(range(200)))
