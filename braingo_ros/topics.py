"""Topic and service names of the BrainGo nodes (ARCHITECTURE.md's table): the one place they are written."""

MOTOR_VOLTAGES = "/brain/motor_voltages"
VOLTAGES = "/brain/voltages"
ACTIVITY_MARKERS = "/brain/activity_markers"
STIMULUS = "/brain/stimulus"
MUSCLE_ACTIVATION = "/muscles/activation"
EFFORT_COMMANDS = "/caterpillar_effort_controller/commands"
JOINT_STATES = "/joint_states"
ODOM = "/odom"
CONTACT_FORCES = "/body/contact_forces"
CLOCK = "/clock"

SAVE_SNAPSHOT = "/brain/save_snapshot"
RESET = "/brain/reset"
PAUSE = "/brain/pause"

#: Topics of the lock-step loop: body_sim_node starts stepping once each has a publisher and its subscribers.
LOCK_STEP = (JOINT_STATES, STIMULUS, MOTOR_VOLTAGES, EFFORT_COMMANDS)
#: Topics the brain, muscle and sensor nodes publish in the loop (the body publishes the rest).
NODE_OUTPUTS = (STIMULUS, MOTOR_VOLTAGES, MUSCLE_ACTIVATION, EFFORT_COMMANDS)
