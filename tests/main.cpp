// The single doctest binary of plast (DESIGN.md, "Conventions"): suites mirror the folders.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
