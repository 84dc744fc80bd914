import streamlit as st

st.title("Cafe Pentagon chat")
st.write("coming soon")
