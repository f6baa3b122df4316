import OOMeshGenerator
import SwiftProtobufPluginLibrary

// Reads a CodeGeneratorRequest on stdin, writes the CodeGeneratorResponse on stdout.
OOMeshCodeGenerator.main()
