// Anchors tests/pch.hpp, which every test program reuses (tests/CMakeLists.txt).
