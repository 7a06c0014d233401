fn main() {
    println!("msgspool: being written");
}
